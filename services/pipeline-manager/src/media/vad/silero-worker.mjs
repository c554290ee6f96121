// Worker thread for batched Silero VAD v5 inference (plain JavaScript so it loads without a
// TypeScript loader). Keeps every call's recurrent state and 64-sample context; each batch holds
// at most one 512-sample window per call. Messages: see silero-batcher.ts.
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const WINDOW = 512;
const CONTEXT = 64;
const INPUT = WINDOW + CONTEXT;
const STATE = 2 * 128;

const session = await ort.InferenceSession.create(workerData.modelPath, {
  intraOpNumThreads: workerData.intraOpThreads ?? 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const rate = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
/** Per call: { state: Float32Array(256) laid out [layer][128], context: Float32Array(64) }. */
const calls = new Map();

function callState(id) {
  let entry = calls.get(id);
  if (!entry) {
    entry = { state: new Float32Array(STATE), context: new Float32Array(CONTEXT) };
    calls.set(id, entry);
  }
  return entry;
}

parentPort.on('message', async (message) => {
  if (message.type === 'release') {
    calls.delete(message.id);
    return;
  }
  if (message.type !== 'run') return;
  const { batchId, ids, resets, samples } = message;
  const size = ids.length;
  try {
    const input = new Float32Array(size * INPUT);
    const state = new Float32Array(2 * size * 128);
    for (let item = 0; item < size; item += 1) {
      const entry = callState(ids[item]);
      if (resets[item] === 1) {
        entry.state.fill(0);
        entry.context.fill(0);
      }
      input.set(entry.context, item * INPUT);
      input.set(samples.subarray(item * WINDOW, (item + 1) * WINDOW), item * INPUT + CONTEXT);
      // state is [2, batch, 128].
      state.set(entry.state.subarray(0, 128), item * 128);
      state.set(entry.state.subarray(128, 256), size * 128 + item * 128);
    }
    const outputs = await session.run({
      input: new ort.Tensor('float32', input, [size, INPUT]),
      state: new ort.Tensor('float32', state, [2, size, 128]),
      sr: rate,
    });
    const probabilities = new Float32Array(size);
    const next = outputs.stateN.data;
    const output = outputs.output.data;
    for (let item = 0; item < size; item += 1) {
      const entry = callState(ids[item]);
      entry.state.set(next.subarray(item * 128, item * 128 + 128), 0);
      entry.state.set(next.subarray(size * 128 + item * 128, size * 128 + item * 128 + 128), 128);
      entry.context.set(samples.subarray((item + 1) * WINDOW - CONTEXT, (item + 1) * WINDOW));
      probabilities[item] = output[item];
    }
    parentPort.postMessage({ type: 'result', batchId, probabilities }, [probabilities.buffer]);
  } catch (error) {
    parentPort.postMessage({ type: 'error', batchId, message: error instanceof Error ? error.message : String(error) });
  }
});
parentPort.postMessage({ type: 'ready' });
