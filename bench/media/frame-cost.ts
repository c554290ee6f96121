/**
 * CPU cost per 20 ms frame of the per-call media path: u-law decode + 8->16 kHz resample + VAD
 * + 16->8 kHz resample + u-law encode, on the speech fixture, for each VAD engine; plus each
 * stage alone. CPU time comes from process.cpuUsage (all threads, so onnxruntime's are counted).
 * Run: pnpm tsx bench/media/frame-cost.ts [frames]
 * With BENCH_JSON=<file>, also writes the CPU us per frame of each measurement as JSON
 * (frame_cost_full_<engine>_us, frame_cost_vad_<engine>_us, ...).
 */
import { fileURLToPath } from 'node:url';
import { FRAME_SAMPLES } from '../../services/pipeline-manager/src/media/audio-format.ts';
import { g711Codec } from '../../services/pipeline-manager/src/media/g711.ts';
import { SpeexResampler } from '../../services/pipeline-manager/src/media/speex-resampler.ts';
import { readPcmWav } from '../../services/pipeline-manager/src/media/testing/wav.ts';
import { sharedSileroBatcher } from '../../services/pipeline-manager/src/media/vad/silero-batcher.ts';
import { createVoiceActivityDetector } from '../../services/pipeline-manager/src/media/vad/voice-activity-detector.ts';
import { createWireCodecPair } from '../../services/pipeline-manager/src/media/wire-codec.ts';
import { writeBenchJson } from '../lib/bench-json.ts';

const frames = Number(process.argv[2] ?? 5000);
const speech = readPcmWav(fileURLToPath(new URL('../../services/pipeline-manager/src/media/fixtures/speech-16k.wav', import.meta.url)));

// The inbound wire: the speech as u-law 20 ms payloads (prepared outside the measurement).
const toNarrow = await SpeexResampler.create(16_000, 8000, 10);
const payloadCount = Math.floor(speech.samples.length / FRAME_SAMPLES);
const payloads: Uint8Array[] = [];
const narrow = new Int16Array(160);
for (let index = 0; index < payloadCount; index += 1) {
  toNarrow.process(speech.samples.subarray(index * FRAME_SAMPLES, (index + 1) * FRAME_SAMPLES), narrow);
  const payload = new Uint8Array(160);
  g711Codec('ulaw').encode(narrow, payload);
  payloads.push(payload);
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function measure(label: string, key: string, body: (index: number) => void | Promise<void>): Promise<number> {
  for (let index = 0; index < 1000; index += 1) await body(index); // warm-up (JIT)
  const startCpu = cpuMicros();
  const startWall = performance.now();
  for (let index = 0; index < frames; index += 1) await body(index);
  const perFrameCpu = (cpuMicros() - startCpu) / frames;
  const perFrameWall = ((performance.now() - startWall) * 1000) / frames;
  writeBenchJson({ [`frame_cost_${key}_us`]: perFrameCpu, [`frame_cost_${key}_wall_us`]: perFrameWall });
  console.log(`${label.padEnd(58)} ${perFrameCpu.toFixed(1).padStart(8)} us CPU/frame  ${perFrameWall.toFixed(1).padStart(8)} us wall/frame  (${((perFrameCpu / 20_000) * 100).toFixed(2)} % of one core per call)`);
  return perFrameCpu;
}

console.log(`${frames} frames of 20 ms per measurement (${(frames / 50).toFixed(0)} s of audio), node ${process.version}`);
const wireOut = new Uint8Array(160);
for (const quality of [6]) {
  const pair = await createWireCodecPair('ulaw', 'big', quality);
  const out = new Int16Array(FRAME_SAMPLES);
  await measure(`decode + resample up (u-law, speex q${quality})`, `decode_resample_up_q${quality}`, (index) => {
    pair.decoder.decode(payloads[index % payloadCount] as Uint8Array, (frame) => out.set(frame));
  });
  await measure(`resample down + encode (u-law, speex q${quality})`, `resample_down_encode_q${quality}`, (index) => {
    pair.encoder.encode(speech.samples.subarray((index % payloadCount) * FRAME_SAMPLES, ((index % payloadCount) + 1) * FRAME_SAMPLES), wireOut);
  });
  pair.destroy();
}
for (const engine of ['silero', 'webrtc', 'energy'] as const) {
  const detector = await createVoiceActivityDetector({ engine, sileroRuntime: 'inline' });
  await measure(`VAD only (${engine}${engine === 'silero' ? ', inline' : ''})`, `vad_${engine}${engine === 'silero' ? '_inline' : ''}`, async (index) => {
    const frame = speech.samples.subarray((index % payloadCount) * FRAME_SAMPLES, ((index % payloadCount) + 1) * FRAME_SAMPLES);
    if (engine === 'silero') await detector.process(frame);
    else detector.processSync(frame);
  });
}
// Silero batched in its worker thread: 64 calls advance in lockstep, one frame each per step.
{
  const calls = 64;
  const detectors = await Promise.all(Array.from({ length: calls }, () => createVoiceActivityDetector({ engine: 'silero', sileroRuntime: 'worker' })));
  const steps = Math.ceil(frames / calls);
  const run = async (count: number): Promise<void> => {
    for (let step = 0; step < count; step += 1) {
      await Promise.all(
        detectors.map((detector, call) => {
          const at = (step + call * 37) % payloadCount;
          return detector.process(speech.samples.subarray(at * FRAME_SAMPLES, (at + 1) * FRAME_SAMPLES));
        }),
      );
    }
  };
  await run(50);
  const startCpu = cpuMicros();
  const startWall = performance.now();
  await run(steps);
  const perFrame = (cpuMicros() - startCpu) / (steps * calls);
  const perStepWall = (performance.now() - startWall) / steps;
  writeBenchJson({ frame_cost_vad_silero_worker_batched_us: perFrame, frame_cost_vad_silero_worker_step_wall_us: perStepWall * 1000 });
  console.log(`${`VAD only (silero, worker, ${calls} calls batched)`.padEnd(58)} ${perFrame.toFixed(1).padStart(8)} us CPU/frame  ${(perStepWall * 1000).toFixed(0).padStart(8)} us wall per step of ${calls} frames  (${((perFrame / 20_000) * 100).toFixed(2)} % of one core per call)`);
  await sharedSileroBatcher().close();
}

for (const engine of ['silero', 'webrtc', 'energy'] as const) {
  const pair = await createWireCodecPair('ulaw', 'big');
  const detector = await createVoiceActivityDetector({ engine, sileroRuntime: 'inline' });
  const pending: Array<Promise<unknown>> = [];
  await measure(`full path: decode+resample+VAD(${engine}${engine === 'silero' ? ' inline' : ''})+resample+encode`, `full_${engine}${engine === 'silero' ? '_inline' : ''}`, async (index) => {
    pair.decoder.decode(payloads[index % payloadCount] as Uint8Array, (frame) => {
      if (engine === 'silero') pending.push(detector.process(frame));
      else detector.processSync(frame);
      // Echo the frame back out, as a stand-in for TTS output of the same length.
      pair.encoder.encode(frame, wireOut);
    });
    if (pending.length > 0) await Promise.all(pending.splice(0));
  });
  pair.destroy();
}
