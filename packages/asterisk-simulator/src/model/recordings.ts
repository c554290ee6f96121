import type { EventHub } from '../ari/event-hub.ts';
import { FRAME_MS } from '../media/codecs.ts';
import { sineTone } from '../media/wav.ts';
import type { Channel } from './channel.ts';
import { LiveRecording, NO_AUDIO_TIMEOUT_MS, StoredRecording, type RecordingOptions } from './recording.ts';

/** The length of the simulator's `beep` sound. */
const BEEP_MS = 250;

/** Why a recording ends: ARI stop or cancel, the channel going away, or one of its limits. */
type FinishReason = 'stop' | 'hangup' | 'no-audio' | 'silence' | 'dtmf' | 'max-duration';

/** What Asterisk answers to a recording operation (res/ari/resource_recordings.c). */
export type OperationResult = 'ok' | 'not-found' | 'not-recording';

export type RecordingOperation = 'stop' | 'cancel' | 'pause' | 'unpause' | 'mute' | 'unmute';

/**
 * ARI recordings as res_stasis_recording runs them: live recordings by name (a name is live
 * from the request until the recording finishes) and the recording directory's files (a file
 * exists from the moment its recording starts). A channel's recordings are commands of its
 * Stasis thread: one records at a time, the next starts when it finishes.
 */
export class Recordings {
  readonly live = new Map<string, LiveRecording>();
  readonly stored = new Map<string, StoredRecording>();

  constructor(
    private readonly hub: EventHub,
    private readonly answer: (channel: Channel) => void,
  ) {}

  /** Whether a record request for `name` conflicts (409): live, or stored with ifExists=fail. */
  conflicts(options: Pick<RecordingOptions, 'name' | 'ifExists'>): boolean {
    return this.live.has(options.name) || (options.ifExists === 'fail' && this.stored.has(options.name));
  }

  /** Queues a recording on its channel; `runNext` starts it once the response is written. */
  create(channel: Channel, options: RecordingOptions): LiveRecording {
    const recording = new LiveRecording(channel, options);
    this.live.set(options.name, recording);
    channel.recordings.push(recording);
    return recording;
  }

  /** Starts the channel's next recording unless one runs (a bridged channel's fails at once). */
  runNext(channel: Channel): void {
    for (;;) {
      const recording = channel.recordings[0];
      if (!recording || recording.file) return;
      if (channel.bridge) {
        recording.state = 'failed';
        recording.cause = 'Cannot record channel while in bridge';
        this.publish(recording, 'RecordingFailed');
        this.forget(recording);
        continue;
      }
      if (channel.state !== 'Up') this.answer(channel);
      recording.state = 'recording';
      recording.startedAt = Date.now();
      this.publish(recording, 'RecordingStarted');
      if (recording.options.beep) {
        // The beep is played to the channel first (a snoop without whisper drops it); recording follows it.
        const beep = sineTone(1000, BEEP_MS);
        if (!channel.snoop) channel.whisperToFarEnd.write(beep);
        recording.beepMs = BEEP_MS;
      }
      const existing = this.stored.get(recording.name);
      if (existing && recording.options.ifExists === 'append' && existing.format === recording.options.format) {
        existing.closed = false;
        recording.file = existing;
      } else {
        recording.file = new StoredRecording(recording.name, recording.options.format);
        this.stored.set(recording.name, recording.file);
      }
      if (!channel.hangingUp) return;
      // A channel that is gone reads nothing: the recording ends at once, with its header-only file.
      this.finish(recording, 'hangup');
    }
  }

  /** The media clock's 20 ms tick: what the channel read this tick (null when nothing came). */
  tick(channel: Channel, frame: Int16Array | null, now: number): void {
    const recording = channel.recordings[0];
    if (!recording?.active) return;
    if (recording.beepMs > 0) {
      recording.beepMs -= FRAME_MS;
      return;
    }
    if (frame) {
      recording.idleMs = 0;
      recording.write(frame);
    } else if ((recording.idleMs += FRAME_MS) >= NO_AUDIO_TIMEOUT_MS) {
      this.finish(recording, 'no-audio');
      return;
    }
    if (recording.silentTooLong()) this.finish(recording, 'silence');
    else if (recording.pastMaxDuration(now)) this.finish(recording, 'max-duration');
  }

  /** A DTMF digit read from the channel: ends its recording when `terminateOn` lists it. */
  dtmf(channel: Channel, digit: string): void {
    const recording = channel.recordings[0];
    if (recording?.active && recording.options.terminateOn.includes(digit.toLowerCase())) this.finish(recording, 'dtmf');
  }

  /** The channel hangs up: its recording finishes, and any queued after it start and finish. */
  channelGone(channel: Channel): void {
    const running = channel.recordings[0];
    if (running?.file) this.finish(running, 'hangup');
    else this.runNext(channel);
  }

  /**
   * An operation on a live recording (resource_recordings.c's table): `finishLater` runs the
   * end of a stop or cancel after the 204 is written, as the recording notices it on its next frame.
   */
  operate(name: string, operation: RecordingOperation): { result: OperationResult; finishLater?: () => void } {
    const recording = this.live.get(name);
    if (!recording) return { result: 'not-found' };
    const { state } = recording;
    if (state === 'queued' && (operation === 'stop' || operation === 'cancel')) {
      // Disregarded: marked canceled, but the queued command still records when its turn comes.
      recording.state = 'canceled';
      return { result: 'ok' };
    }
    if (state !== 'recording' && state !== 'paused') return { result: 'not-recording' };
    const now = Date.now();
    switch (operation) {
      case 'stop':
      case 'cancel': {
        if (operation === 'cancel' && recording.file && this.stored.get(name) === recording.file) this.stored.delete(name);
        recording.state = operation === 'stop' ? 'done' : 'canceled';
        return { result: 'ok', finishLater: () => this.finish(recording, 'stop') };
      }
      case 'pause':
        if (state === 'recording') {
          recording.state = 'paused';
          recording.pausedSince = now;
        }
        break;
      case 'unpause':
        if (state === 'paused') {
          recording.state = 'recording';
          recording.pausedMs += now - recording.pausedSince;
        }
        break;
      case 'mute':
      case 'unmute':
        recording.muted = operation === 'mute';
        break;
    }
    return { result: 'ok' };
  }

  /** Ends a running recording as ast_play_and_record does: durations, trailing silence, RecordingFinished. */
  private finish(recording: LiveRecording, reason: FinishReason): void {
    const file = recording.file;
    if (!file || !this.live.has(recording.name) || this.live.get(recording.name) !== recording) return;
    const { maxSilenceSeconds } = recording.options;
    const silenceMs = recording.silenceMs;
    // ast_tellstream / 8000: whole seconds at 8 kHz (twice the truth for wav16, as in Asterisk).
    const samples = file.samples;
    let duration = Math.floor(samples / 8000);
    if (maxSilenceSeconds > 0) {
      const totalSilence = recording.totalSilenceMs + silenceMs;
      let talking = duration;
      if (totalSilence > 0) talking -= Math.trunc((totalSilence - 200) / 1000);
      recording.talkingDuration = Math.max(0, talking);
      if (silenceMs > 0) duration = Math.max(0, duration - Math.trunc((silenceMs - 200) / 1000));
      // Ended by silence, a key or the time limit: all but 200 ms of the trailing silence is cut.
      const endedByLimit = reason === 'silence' || reason === 'dtmf' || reason === 'max-duration';
      if (endedByLimit && silenceMs > 200) file.dropLast(Math.round(((silenceMs - 200) * file.sampleRate) / 1000));
    }
    recording.duration = duration;
    recording.state = 'done';
    file.closed = true;
    this.publish(recording, 'RecordingFinished');
    this.forget(recording);
    if (!recording.channel.hangingUp) this.runNext(recording.channel);
    else this.channelGone(recording.channel);
  }

  private forget(recording: LiveRecording): void {
    if (this.live.get(recording.name) === recording) this.live.delete(recording.name);
    const queue = recording.channel.recordings;
    const index = queue.indexOf(recording);
    if (index >= 0) queue.splice(index, 1);
  }

  private publish(recording: LiveRecording, type: 'RecordingStarted' | 'RecordingFinished' | 'RecordingFailed'): void {
    this.hub.publish(recording.channel.subscribedApps, { type, recording: recording.toJson() });
  }
}
