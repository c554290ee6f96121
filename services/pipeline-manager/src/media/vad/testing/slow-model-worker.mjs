// A stand-in for silero-worker.mjs that speaks its messages (see silero-batcher.ts) with a model
// that is slow on demand: the first `slowBatches` batches take `delayMs` each (a starved CPU),
// the rest answer at once. Probability: 0.75 for a loud window (mean |sample| > 0.1), else 0.125
// (both exact in float32).
import { setTimeout } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';

const WINDOW = 512;
let slowLeft = workerData.slowBatches ?? 0;

parentPort.on('message', (message) => {
  if (message.type !== 'run') return;
  const { batchId, ids, samples } = message;
  const delayMs = slowLeft > 0 ? (workerData.delayMs ?? 0) : 0;
  slowLeft -= 1;
  setTimeout(() => {
    const probabilities = new Float32Array(ids.length);
    for (let item = 0; item < ids.length; item += 1) {
      let sum = 0;
      for (let index = item * WINDOW; index < (item + 1) * WINDOW; index += 1) sum += Math.abs(samples[index]);
      probabilities[item] = sum / WINDOW > 0.1 ? 0.75 : 0.125;
    }
    parentPort.postMessage({ type: 'result', batchId, probabilities }, [probabilities.buffer]);
  }, delayMs);
});
parentPort.postMessage({ type: 'ready' });
