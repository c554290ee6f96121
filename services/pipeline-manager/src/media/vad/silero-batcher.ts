import { Worker } from 'node:worker_threads';
import { countSkippedVadWindow, type VadSkipReason } from './skipped-windows.ts';
import { sileroModelPath } from './silero-model.ts';
import type { SpeechProbabilityModel } from './speech-probability.ts';

const WINDOW = 512;

interface Pending {
  id: number;
  samples: Float32Array;
  reset: boolean;
  /** When it was queued (performance.now()). */
  queuedAt: number;
  /** `null`: skipped, never analysed. */
  resolve: (probability: number | null) => void;
  reject: (error: Error) => void;
}

/** Options for {@link SileroBatcher}. */
export interface SileroBatcherOptions {
  /** Largest batch per inference (default 64). */
  maxBatch?: number;
  /** How long a lone window waits for company when the worker is idle (default 2 ms). */
  gatherMs?: number;
  /** onnxruntime intra-op threads in the worker (default 1). */
  intraOpThreads?: number;
  /**
   * Most windows waiting for a batch (default 1024); beyond it the oldest is skipped. Bounds
   * memory and the work of the batch that follows an overload.
   */
  maxQueued?: number;
  /**
   * A window that waited longer than this for its batch is skipped (default 500 ms): its
   * answer would come too late to stop the bot or end a turn, and running it would only
   * delay the fresh windows behind it.
   */
  maxWaitMs?: number;
  /** The worker script (tests: a model double that speaks the same messages) and extra data for it. */
  workerUrl?: URL;
  workerData?: Record<string, unknown>;
}

/**
 * Runs Silero for many calls in one worker thread, batching their windows into one inference
 * (measured ~2.5x less CPU per window at batch 8-64 than one run per window) and keeping the
 * inference off the event loop that paces RTP. While a batch runs, new windows queue up and go
 * out together as the next batch, so batches grow with load and latency stays at one inference
 * when load is light. Each batch carries at most one window per call, so a call's windows are
 * analysed in order.
 */
export class SileroBatcher {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private readonly pending: Pending[] = [];
  private readonly inFlight = new Map<number, Pending[]>();
  private readonly resetIds = new Set<number>();
  private nextId = 1;
  private nextBatchId = 1;
  private gatherTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private closing: Error | undefined;
  private readonly maxBatch: number;
  private readonly gatherMs: number;
  private readonly maxQueued: number;
  private readonly maxWaitMs: number;
  private staleTimer: NodeJS.Timeout | undefined;
  /** Batches run and windows analysed (for benchmarks). */
  batches = 0;
  windows = 0;
  /** Windows skipped because they waited too long or the queue was full (also counted process-wide). */
  skipped = 0;

  constructor(options: SileroBatcherOptions = {}) {
    this.maxBatch = options.maxBatch ?? 64;
    this.gatherMs = options.gatherMs ?? 2;
    this.maxQueued = options.maxQueued ?? 1024;
    this.maxWaitMs = options.maxWaitMs ?? 500;
    this.worker = new Worker(options.workerUrl ?? new URL('./silero-worker.mjs', import.meta.url), {
      workerData: { modelPath: sileroModelPath(), intraOpThreads: options.intraOpThreads ?? 1, ...options.workerData },
    });
    this.worker.unref();
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: { type: string }): void => {
        if (message.type !== 'ready') return;
        this.worker.off('message', onMessage);
        resolve();
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', reject);
    });
    this.worker.on('message', (message: { type: string; batchId: number; probabilities?: Float32Array; message?: string }) => this.onResult(message));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`Silero worker exited with code ${code}`)));
  }

  /** Resolves once the model is loaded in the worker. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Allocates a call slot (its own recurrent state). */
  register(): number {
    const id = this.nextId;
    this.nextId += 1;
    return id;
  }

  /** Windows waiting for a batch now. */
  get queued(): number {
    return this.pending.length;
  }

  /**
   * Queues one 512-sample window of a call; resolves with its speech probability, or `null`
   * when it was skipped (it waited more than `maxWaitMs`, or the queue was full).
   */
  submit(id: number, window: Int16Array): Promise<number | null> {
    if (this.failure ?? this.closing) return Promise.reject(this.failure ?? this.closing);
    const samples = new Float32Array(WINDOW);
    for (let index = 0; index < WINDOW; index += 1) samples[index] = (window[index] as number) / 32_768;
    const reset = this.resetIds.delete(id);
    if (this.pending.length >= this.maxQueued) this.skip(this.pending.splice(0, this.pending.length - this.maxQueued + 1), 'queue_full');
    return new Promise<number | null>((resolve, reject) => {
      this.pending.push({ id, samples, reset, queuedAt: performance.now(), resolve, reject });
      this.schedule();
      this.staleTimer ??= setTimeout(() => this.dropStale(), this.maxWaitMs + 1).unref();
    });
  }

  /** Clears a call's state before its next window. */
  reset(id: number): void {
    this.resetIds.add(id);
  }

  /** Frees a call's state in the worker. */
  release(id: number): void {
    this.resetIds.delete(id);
    this.worker.postMessage({ type: 'release', id });
  }

  /**
   * Refuses new windows, lets a batch the worker is running finish (terminating a worker in
   * the middle of an onnxruntime run aborts the whole process), then stops the worker.
   */
  async close(): Promise<void> {
    if (this.gatherTimer) clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
    clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
    const closed = new Error('Silero batcher closed');
    this.closing = closed;
    for (const item of this.pending.splice(0)) item.reject(closed);
    const deadline = Date.now() + 2000;
    while (this.inFlight.size > 0 && !this.failure && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    this.fail(closed);
    await this.worker.terminate();
  }

  /**
   * Skips the windows that waited too long, also while a batch runs (a slow model must not
   * hold every call's VAD behind it), and looks again when the next one would be stale.
   */
  private dropStale(): void {
    this.staleTimer = undefined;
    const now = performance.now();
    const stale = this.pending.filter((item) => now - item.queuedAt > this.maxWaitMs);
    if (stale.length > 0) {
      const kept = this.pending.filter((item) => now - item.queuedAt <= this.maxWaitMs);
      this.pending.splice(0, this.pending.length, ...kept);
      this.skip(stale, 'stale');
    }
    const oldest = this.pending[0];
    if (oldest) this.staleTimer = setTimeout(() => this.dropStale(), Math.max(1, oldest.queuedAt + this.maxWaitMs - now + 1)).unref();
  }

  private skip(items: Pending[], reason: VadSkipReason): void {
    if (items.length === 0) return;
    this.skipped += items.length;
    countSkippedVadWindow(reason, items.length);
    for (const item of items) item.resolve(null);
  }

  private schedule(): void {
    if (this.inFlight.size > 0) return; // the batch in flight will flush on return
    if (this.pending.length >= this.maxBatch) {
      this.flush();
      return;
    }
    this.gatherTimer ??= setTimeout(() => {
      this.gatherTimer = undefined;
      this.flush();
    }, this.gatherMs);
  }

  private flush(): void {
    if (this.gatherTimer) {
      clearTimeout(this.gatherTimer);
      this.gatherTimer = undefined;
    }
    if (this.pending.length === 0 || this.failure) return;
    // After an overload the queue's head may be stale: fresh windows go first.
    const head = this.pending[0];
    if (head && performance.now() - head.queuedAt > this.maxWaitMs) {
      clearTimeout(this.staleTimer);
      this.dropStale();
      if (this.pending.length === 0) return;
    }
    const batch: Pending[] = [];
    const seen = new Set<number>();
    const rest: Pending[] = [];
    for (const item of this.pending) {
      if (batch.length < this.maxBatch && !seen.has(item.id)) {
        seen.add(item.id);
        batch.push(item);
      } else {
        rest.push(item);
      }
    }
    this.pending.splice(0, this.pending.length, ...rest);
    const ids = new Int32Array(batch.length);
    const resets = new Uint8Array(batch.length);
    const samples = new Float32Array(batch.length * WINDOW);
    batch.forEach((item, index) => {
      ids[index] = item.id;
      resets[index] = item.reset ? 1 : 0;
      samples.set(item.samples, index * WINDOW);
    });
    const batchId = this.nextBatchId;
    this.nextBatchId += 1;
    this.inFlight.set(batchId, batch);
    this.batches += 1;
    this.windows += batch.length;
    this.worker.postMessage({ type: 'run', batchId, ids, resets, samples }, [samples.buffer]);
  }

  private onResult(message: { type: string; batchId: number; probabilities?: Float32Array; message?: string }): void {
    if (message.type !== 'result' && message.type !== 'error') return;
    const batch = this.inFlight.get(message.batchId);
    if (!batch) return;
    this.inFlight.delete(message.batchId);
    if (message.type === 'error') {
      const error = new Error(`Silero inference failed: ${message.message ?? 'unknown'}`);
      for (const item of batch) item.reject(error);
    } else {
      batch.forEach((item, index) => item.resolve(message.probabilities?.[index] ?? 0));
    }
    // Everything that queued meanwhile goes out now as one batch.
    if (this.pending.length > 0) this.flush();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const batch of this.inFlight.values()) for (const item of batch) item.reject(error);
    this.inFlight.clear();
    for (const item of this.pending.splice(0)) item.reject(error);
  }
}

let shared: SileroBatcher | undefined;

/** The process-wide batcher (one worker thread) used by the `silero-batched` engine. */
export function sharedSileroBatcher(): SileroBatcher {
  shared ??= new SileroBatcher();
  return shared;
}

/** Silero through the shared worker batcher: same model and numbers, off the event loop. */
export class BatchedSileroSpeechModel implements SpeechProbabilityModel {
  readonly engine = 'silero' as const;
  readonly synchronous = false;
  readonly windowSamples = WINDOW;
  private readonly id: number;

  private constructor(private readonly batcher: SileroBatcher) {
    this.id = batcher.register();
  }

  static async create(batcher: SileroBatcher = sharedSileroBatcher()): Promise<BatchedSileroSpeechModel> {
    await batcher.whenReady();
    return new BatchedSileroSpeechModel(batcher);
  }

  probability(window: Int16Array): Promise<number | null> {
    return this.batcher.submit(this.id, window);
  }

  reset(): void {
    this.batcher.reset(this.id);
  }

  dispose(): void {
    this.batcher.release(this.id);
  }
}
