export * from './wav.ts';
export * from './speex-resampler.ts';
export * from './resample.ts';
export * from './espeak.ts';
