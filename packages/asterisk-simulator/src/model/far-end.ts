/**
 * What sits on the far side of a channel: a scripted phone, an RTP peer, a media WebSocket.
 * The media engine calls produce/consume once per 20 ms tick with 16 kHz PCM16 frames.
 */
export interface FarEnd {
  /**
   * 20 ms of audio the far end sends into Asterisk this tick, or null when it sends nothing. The
   * last frame of a burst may be shorter: only its real samples (Asterisk passes a short frame on).
   */
  produce(): Int16Array | null;
  /** 20 ms of audio Asterisk sends to the far end this tick, or null when nothing is sent. */
  consume(frame: Int16Array | null): void;
  /** A DTMF digit Asterisk passes to the far end (from a bridge peer or POST /dtmf). */
  receiveDtmf?(digit: string, durationMs: number): void;
  /** The channel was answered. */
  answered?(): void;
  /** The channel is gone: release sockets and timers. */
  close(): void;
}

/** A far end that neither sends nor records anything. */
export class SilentFarEnd implements FarEnd {
  produce(): Int16Array | null {
    return null;
  }
  consume(): void {}
  close(): void {}
}
