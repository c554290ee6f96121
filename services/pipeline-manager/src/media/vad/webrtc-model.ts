import createFvadModule from '@echogarden/fvad-wasm';
import type { SpeechProbabilityModel } from './speech-probability.ts';

interface FvadModule {
  _fvad_new(): number;
  _fvad_free(handle: number): void;
  _fvad_reset(handle: number): void;
  _fvad_set_mode(handle: number, mode: number): number;
  _fvad_set_sample_rate(handle: number, rate: number): number;
  _fvad_process(handle: number, frame: number, length: number): number;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  HEAP16: Int16Array;
}

let modulePromise: Promise<FvadModule> | undefined;

function loadFvad(): Promise<FvadModule> {
  modulePromise ??= (createFvadModule as unknown as () => Promise<FvadModule>)();
  return modulePromise;
}

const WINDOW = 320;

/**
 * WebRTC's GMM voice detector (libfvad compiled to WASM): a yes/no per 20 ms frame, reported
 * as probability 0 or 1. `mode` 0 (least aggressive) to 3 (most aggressive at rejecting noise).
 */
export class WebRtcSpeechModel implements SpeechProbabilityModel {
  readonly engine = 'webrtc' as const;
  readonly synchronous = true;
  readonly windowSamples = WINDOW;
  private handle: number;
  private readonly buffer: number;

  private constructor(
    private readonly module: FvadModule,
    private readonly mode: number,
  ) {
    this.handle = module._fvad_new();
    if (this.handle === 0) throw new Error('fvad_new failed');
    module._fvad_set_sample_rate(this.handle, 16_000);
    module._fvad_set_mode(this.handle, mode);
    this.buffer = module._malloc(WINDOW * 2);
  }

  static async create(mode = 3): Promise<WebRtcSpeechModel> {
    return new WebRtcSpeechModel(await loadFvad(), mode);
  }

  probability(window: Int16Array): number {
    this.module.HEAP16.set(window.subarray(0, WINDOW), this.buffer >> 1);
    const result = this.module._fvad_process(this.handle, this.buffer, WINDOW);
    return result === 1 ? 1 : 0;
  }

  reset(): void {
    this.module._fvad_reset(this.handle);
    this.module._fvad_set_sample_rate(this.handle, 16_000);
    this.module._fvad_set_mode(this.handle, this.mode);
  }

  dispose(): void {
    if (this.handle === 0) return;
    this.module._fvad_free(this.handle);
    this.module._free(this.buffer);
    this.handle = 0;
  }
}

/**
 * The cheapest fallback: loudness against an adaptive noise floor (falls fast, rises slowly),
 * so steady background noise is learned and ignored. Probability rises from 0 at 6 dB above
 * the floor to 1 at 18 dB above it. It cannot tell speech from a sudden loud noise.
 */
export class EnergySpeechModel implements SpeechProbabilityModel {
  readonly engine = 'energy' as const;
  readonly synchronous = true;
  readonly windowSamples = WINDOW;
  private floorDb = -60;

  probability(window: Int16Array): number {
    let sum = 0;
    for (let index = 0; index < WINDOW; index += 1) sum += (window[index] as number) ** 2;
    const db = 10 * Math.log10(sum / WINDOW / (32_768 * 32_768) + 1e-12);
    if (db < this.floorDb) this.floorDb += 0.3 * (db - this.floorDb);
    else this.floorDb += 0.01 * (db - this.floorDb);
    if (this.floorDb < -90) this.floorDb = -90;
    return Math.min(1, Math.max(0, (db - this.floorDb - 6) / 12));
  }

  reset(): void {
    this.floorDb = -60;
  }

  dispose(): void {}
}
