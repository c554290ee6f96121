/**
 * The band-limited speex resampler lives in @avp/shared (the simulator and TTS use it too);
 * re-exported here so the media engine's imports stay local.
 */
export { DEFAULT_RESAMPLER_QUALITY, SpeexResampler } from '@avp/shared';
