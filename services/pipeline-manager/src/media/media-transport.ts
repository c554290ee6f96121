import type { AudioFrame } from './audio-format.ts';
import type { MediaCodecName } from './g711.ts';
import type { SegmentPlayout } from './output-queue.ts';

/**
 * Receives one inbound 20 ms frame at 16 kHz. `mediaTimeMs` is the frame's start on the call's
 * media clock (frames since the stream began x 20 ms, concealed frames included). The frame
 * buffer is reused after the call returns: copy it to keep it.
 */
export type InboundAudioListener = (frame: AudioFrame, mediaTimeMs: number) => void;

/** Counters common to every transport. */
export interface MediaTransportStats {
  framesReceived: number;
  framesSent: number;
  /** Frames sent as silence because nothing was queued (RTP with idle mode `silence`). */
  silenceFramesSent: number;
  /** Frames of received audio that were concealed with silence (lost packets). */
  concealedFrames: number;
  /** Inbound packets or messages dropped as malformed, by reason. */
  malformed: Record<string, number>;
  /** Frames refused by the full output queue. */
  outputOverflowFrames: number;
  interruptions: number;
  /** Frames waiting in the local output queue. */
  queuedFrames: number;
}

/**
 * What the pipeline sees of a media connection to Asterisk, whichever way it is carried
 * (RTP external media or the WebSocket media channel).
 */
export interface MediaTransport {
  readonly kind: 'rtp' | 'websocket';
  /** Codec on the wire; the pipeline always sees 16 kHz frames. */
  readonly codec: MediaCodecName;
  /** Subscribes to inbound audio; returns an unsubscribe function. */
  onAudio(listener: InboundAudioListener): () => void;
  /**
   * Queues one 20 ms frame (320 samples at 16 kHz) for the caller, as part of output segment
   * `segmentId` (one TTS utterance, say). Returns false when the bounded queue is full.
   */
  send(frame: AudioFrame, segmentId?: string): boolean;
  /** Declares that a segment has no more frames; its completion is then reported. */
  endSegment(segmentId: string): void;
  /** Subscribes to segments that were played to the end. */
  onSegmentPlayed(listener: (playout: SegmentPlayout) => void): () => void;
  /**
   * Barge-in: drops all queued audio (the next frame out is silence or nothing) and returns how
   * many milliseconds of each open segment the caller actually heard.
   */
  interrupt(): SegmentPlayout[];
  /** Milliseconds of audio waiting to be played. */
  queuedMs(): number;
  stats(): MediaTransportStats;
  /** Subscribes to the end of the connection (closed by either side). */
  onClose(listener: (reason: string) => void): () => void;
  close(): Promise<void>;
}

/** The segment id used when `send` is called without one. */
export const DEFAULT_SEGMENT_ID = 'default';
