/**
 * The media engine: Asterisk media transports (RTP external media, WebSocket media channel),
 * G.711 and 8 <-> 16 kHz resampling, 20 ms pacing, barge-in accounting and voice activity
 * detection. The pipeline sees 20 ms frames of 16-bit mono PCM at 16 kHz. See README.md.
 */
export { FRAME_MS, FRAME_SAMPLES, FrameChunker, INTERNAL_SAMPLE_RATE, createFrame, rootMeanSquare, type AudioFrame } from './audio-format.ts';
export { codecInfo, g711Codec, type G711Codec, type MediaCodecName } from './g711.ts';
export { DEFAULT_RESAMPLER_QUALITY, SpeexResampler } from './speex-resampler.ts';
export { createWireCodecPair, WireDecoder, WireEncoder, type PcmByteOrder, type WireCodecPair } from './wire-codec.ts';
export { buildRtpPacket, parseRtpPacket, sequenceDistance, writeRtpHeader, type RtpPacket, type RtpParseError } from './rtp-packet.ts';
export { JitterBuffer, type JitterBufferOptions, type JitterBufferStats } from './jitter-buffer.ts';
export {
  PacingScheduler,
  SimulatedTime,
  sharedPacingScheduler,
  systemClock,
  systemTimers,
  type MonotonicClock,
  type PacedTick,
  type PacingSchedulerOptions,
  type SchedulerTimers,
} from './pacing-scheduler.ts';
export { DEFAULT_MAX_QUEUED_MS, OutputQueue, type SegmentPlayout } from './output-queue.ts';
export { DEFAULT_SEGMENT_ID, type InboundAudioListener, type MediaTransport, type MediaTransportStats } from './media-transport.ts';
export { createRtpTransport, RtpTransport, type RtpEndpoint, type RtpIdleMode, type RtpTransportOptions, type RtpTransportStats } from './rtp-transport.ts';
export {
  connectWebSocketMedia,
  WebSocketMediaTransport,
  type WebSocketMediaOptions,
  type WebSocketTransportStats,
} from './websocket-transport.ts';
export { formatMediaCommand, parseMediaControlMessage, type MediaControlMessage } from './websocket-control.ts';
export { waitForMediaStart, type MediaStartInfo } from './websocket-media-start.ts';
export { DEFAULT_FILL_SILENCE_AFTER_MS, InboundSilenceFiller } from './inbound-silence-filler.ts';
export type { SpeechProbabilityModel, VadEngine } from './vad/speech-probability.ts';
export { SileroSpeechModel, loadSileroSession, sileroModelPath } from './vad/silero-model.ts';
export { BatchedSileroSpeechModel, SileroBatcher, sharedSileroBatcher, type SileroBatcherOptions } from './vad/silero-batcher.ts';
export { EnergySpeechModel, WebRtcSpeechModel } from './vad/webrtc-model.ts';
export {
  createVoiceActivityDetector,
  VoiceActivityDetector,
  windowVolume,
  type VadEvent,
  type VoiceActivityDetectorOptions,
} from './vad/voice-activity-detector.ts';
