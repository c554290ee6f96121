/**
 * A model that turns fixed-size windows of 16 kHz audio into speech probabilities. Each
 * instance holds one call's recurrent state.
 */
export interface SpeechProbabilityModel {
  /** Engine name, for stats and logs. */
  readonly engine: VadEngine;
  /** True when `probability` returns a number rather than a promise. */
  readonly synchronous: boolean;
  /** Samples per analysis window at 16 kHz. */
  readonly windowSamples: number;
  /**
   * Speech probability (0-1) of one window of exactly `windowSamples` samples; `null` when an
   * overloaded model could not analyse it in time and skipped it (see SileroBatcher).
   */
  probability(window: Int16Array): number | Promise<number | null>;
  /** Clears the recurrent state (new utterance or stream). */
  reset(): void;
  /** Frees native or WASM memory. */
  dispose(): void;
}

/** Available VAD engines: Silero (neural, best), WebRTC (GMM, cheap), energy (cheapest). */
export type VadEngine = 'silero' | 'webrtc' | 'energy';
