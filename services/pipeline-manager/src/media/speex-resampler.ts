import createSpeexModule from '@echogarden/speex-resampler-wasm/simd';

/** The raw emscripten exports of the speex resampler WASM build that this file uses. */
interface SpeexModule {
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errorPointer: number): number;
  _speex_resampler_process_int(state: number, channel: number, input: number, inputLength: number, output: number, outputLength: number): number;
  _speex_resampler_skip_zeros(state: number): number;
  _speex_resampler_get_input_latency(state: number): number;
  _speex_resampler_destroy(state: number): void;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  HEAP16: Int16Array;
  HEAPU32: Uint32Array;
  HEAP32: Int32Array;
}

let modulePromise: Promise<SpeexModule> | undefined;

/** Loads the WASM module once per process; every resampler shares its heap. */
export function loadSpeexModule(): Promise<SpeexModule> {
  modulePromise ??= (createSpeexModule as unknown as () => Promise<SpeexModule>)();
  return modulePromise;
}

/** Default speex quality (0-10). 6 measured a good trade of SNR against CPU (see bench/media). */
export const DEFAULT_RESAMPLER_QUALITY = 6;

/** Largest block (in input samples) one `process` call accepts. */
const MAX_BLOCK_SAMPLES = 4096;

/**
 * One direction of band-limited, stateful resampling (speex, int16). Keep one instance per
 * call and direction: the filter history carries across 20 ms frames, so there are no clicks
 * at frame edges. Buffers live in the WASM heap and are allocated once.
 */
export class SpeexResampler {
  private state: number;
  private readonly inputPointer: number;
  private readonly outputPointer: number;
  private readonly lengthsPointer: number;
  private readonly maxOutput: number;

  private constructor(
    private readonly module: SpeexModule,
    readonly inputRate: number,
    readonly outputRate: number,
    readonly quality: number,
  ) {
    this.lengthsPointer = module._malloc(8);
    this.state = module._speex_resampler_init(1, inputRate, outputRate, quality, this.lengthsPointer);
    if (this.state === 0) throw new Error(`speex resampler init failed (${inputRate} -> ${outputRate})`);
    this.maxOutput = Math.ceil((MAX_BLOCK_SAMPLES * outputRate) / inputRate) + 16;
    this.inputPointer = module._malloc(MAX_BLOCK_SAMPLES * 2);
    this.outputPointer = module._malloc(this.maxOutput * 2);
  }

  /** Creates a resampler; `quality` 0 (fast) to 10 (best). */
  static async create(inputRate: number, outputRate: number, quality = DEFAULT_RESAMPLER_QUALITY): Promise<SpeexResampler> {
    return new SpeexResampler(await loadSpeexModule(), inputRate, outputRate, quality);
  }

  /** Samples of delay the filter adds, in input samples. */
  get inputLatency(): number {
    return this.module._speex_resampler_get_input_latency(this.state);
  }

  /**
   * Resamples `input` into `output` and returns how many samples were written. For the
   * 2:1 and 1:2 ratios used here every call consumes all input and writes exactly
   * input * ratio samples.
   */
  process(input: Int16Array, output: Int16Array): number {
    if (this.state === 0) throw new Error('resampler destroyed');
    if (input.length > MAX_BLOCK_SAMPLES) throw new RangeError(`block of ${input.length} samples exceeds ${MAX_BLOCK_SAMPLES}`);
    const module = this.module;
    // Re-read the heap views on every call: they are replaced when WASM memory grows.
    module.HEAP16.set(input, this.inputPointer >> 1);
    const lengths = this.lengthsPointer >> 2;
    module.HEAPU32[lengths] = input.length;
    module.HEAPU32[lengths + 1] = Math.min(output.length, this.maxOutput);
    module._speex_resampler_process_int(this.state, 0, this.inputPointer, this.lengthsPointer, this.outputPointer, this.lengthsPointer + 4);
    const written = module.HEAPU32[lengths + 1] as number;
    const start = this.outputPointer >> 1;
    output.set(module.HEAP16.subarray(start, start + written));
    return written;
  }

  /** Frees the WASM memory; the instance is unusable afterwards. */
  destroy(): void {
    if (this.state === 0) return;
    this.module._speex_resampler_destroy(this.state);
    this.module._free(this.inputPointer);
    this.module._free(this.outputPointer);
    this.module._free(this.lengthsPointer);
    this.state = 0;
  }
}
