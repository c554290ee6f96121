import { FRAME_MS } from './audio-format.ts';
import { sequenceDistance } from './rtp-packet.ts';

/**
 * Default gap after which missing inbound audio is filled with silence: three frame times.
 * The RTP transport releases packets its reordering buffer holds once nothing has arrived for
 * more than two frame times, so filling starts only after that (held audio is never overtaken
 * by filled silence), and a packet late by less than that is never filled for at all. A packet
 * later still is dropped when it arrives (`lateWithinFill`), so its time is not counted twice.
 */
export const DEFAULT_FILL_SILENCE_AFTER_MS = 60;

/**
 * Audio can be this many frames late and still be dropped for the silence filled in its place.
 * Beyond it, arriving audio starts a new talkspurt whatever its timestamp says: a sender may
 * resume after a short pause without moving its timestamp or setting the marker bit (Asterisk
 * does so for gaps under 80 ms), and losing a talkspurt's first words is worse than 100 ms of
 * media time counted twice.
 */
export const MAX_LATE_FRAMES = 5;

/**
 * Keeps the inbound stream flowing in real time when Asterisk stops sending (silence
 * suppression, or a bridge with no audio source: a real Asterisk then sends nothing at all,
 * from the first moment of the call when the caller is silent).
 * Once nothing has arrived for `afterMs`, `onTick` asks for the silence that the gap since the
 * last arrival accounts for, 20 ms per tick from then on, so STT endpointing and the VAD keep
 * seeing time pass and media time stays close to the call's clock. When the caller stops
 * talking on a real Asterisk, the VAD sees the silence only from `afterMs` after the last
 * packet on, hence a short default.
 */
export class InboundSilenceFiller {
  private lastArrivalMs = -1;
  private filledSinceArrival = 0;
  /** The last tick that had silence due was late and filled nothing. */
  private deferred = false;
  /** Sequence number and timestamp of the RTP packet that last counted as an arrival. */
  private reference: { sequenceNumber: number; timestamp: number } | undefined;

  constructor(private readonly afterMs: number = DEFAULT_FILL_SILENCE_AFTER_MS) {}

  /**
   * The stream has begun (the media leg is up): from now on a gap counts even if no audio has
   * arrived yet. A real Asterisk sends nothing for a caller who is silent from the start, and
   * the VAD and STT must still see time pass.
   */
  begin(nowMs: number): void {
    if (this.lastArrivalMs < 0) this.lastArrivalMs = nowMs;
  }

  /** Records an arrival of real audio. */
  arrived(nowMs: number): void {
    this.lastArrivalMs = nowMs;
    this.filledSinceArrival = 0;
    this.deferred = false;
  }

  /**
   * Records an RTP packet: `late` when it continues the sender's stream without a pause
   * (timestamp moved exactly as far as the sequence number, no marker bit) into silence
   * already filled in for it (see {@link lateWithinFill}); its audio is to be dropped and it
   * does not count as an arrival. Otherwise it is an arrival.
   */
  packetArrived(
    nowMs: number,
    packet: { sequenceNumber: number; timestamp: number; marker: boolean },
    packetFrames: number,
    samplesPerFrame: number,
  ): 'late' | 'arrived' {
    const reference = this.reference;
    if (reference && this.filledSinceArrival > 0) {
      const packets = sequenceDistance(reference.sequenceNumber, packet.sequenceNumber);
      const samples = (packets * packetFrames * samplesPerFrame) >>> 0;
      const senderPaused = packet.marker || ((packet.timestamp - reference.timestamp) >>> 0) !== samples;
      if (packets > 0 && this.lateWithinFill(packets * packetFrames, senderPaused)) return 'late';
    }
    this.arrived(nowMs);
    this.reference = { sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp };
    return 'arrived';
  }

  /** A new RTP stream (SSRC change): its sequence numbers and timestamps start afresh. */
  newStream(): void {
    this.reference = undefined;
  }

  /** Forgets the stream (nothing is filled until audio arrives again). */
  stop(): void {
    this.lastArrivalMs = -1;
  }

  /** Frames of silence filled since the last arrival. */
  get filledFrames(): number {
    return this.filledSinceArrival;
  }

  /**
   * Whether audio arriving now already had its time filled with silence: the sender did not
   * pause (its packets are `framesAfterLast` frames after the last one that arrived, by both
   * sequence number and timestamp, and no marker bit: a late packet, not a new talkspurt) and
   * those frames lie within the silence filled since, at most {@link MAX_LATE_FRAMES}. Such
   * audio is dropped, as a jitter buffer drops a packet whose slot was concealed; the filler
   * stays the clock until audio beyond it arrives.
   */
  lateWithinFill(framesAfterLast: number, senderPaused: boolean): boolean {
    if (senderPaused || this.filledSinceArrival > MAX_LATE_FRAMES) return false;
    return framesAfterLast > 0 && framesAfterLast <= this.filledSinceArrival;
  }

  /**
   * Milliseconds of silence to insert now (a multiple of 20, at most one second at once).
   * `latenessMs`: how late the tick asking runs. A tick late by more than a frame time means the
   * process was stalled, and packets that arrived meanwhile are still unread (timers run before
   * the socket is read): filling now would take their slots, and the audio would be dropped as
   * late (RTP) or pushed back behind the silence (WebSocket), cutting holes into the caller's
   * words whenever the machine is busy. Such a tick fills nothing; the next one fills what is
   * still missing (never two ticks in a row, so time keeps passing under sustained load).
   */
  due(nowMs: number, latenessMs = 0): number {
    if (this.afterMs <= 0 || this.lastArrivalMs < 0) return 0;
    const idle = nowMs - this.lastArrivalMs;
    if (idle < this.afterMs) return 0;
    const frames = Math.min(50, Math.floor(idle / FRAME_MS) - this.filledSinceArrival);
    if (frames <= 0) return 0;
    if (latenessMs > FRAME_MS && !this.deferred) {
      this.deferred = true;
      return 0;
    }
    this.deferred = false;
    this.filledSinceArrival += frames;
    return frames * FRAME_MS;
  }
}
