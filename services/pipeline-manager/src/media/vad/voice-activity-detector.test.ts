import { fileURLToPath } from 'node:url';
import { defaultVadConfig } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../audio-format.ts';
import { g711Codec } from '../g711.ts';
import { SpeexResampler } from '../speex-resampler.ts';
import { sineWave, whiteNoise } from '../testing/signals.ts';
import { readPcmWav } from '../testing/wav.ts';
import { createWireCodecPair } from '../wire-codec.ts';
import { SileroBatcher } from './silero-batcher.ts';
import type { SpeechProbabilityModel } from './speech-probability.ts';
import { createVoiceActivityDetector, VoiceActivityDetector, windowVolume, type VadEvent } from './voice-activity-detector.ts';

const speech = readPcmWav(fileURLToPath(new URL('../fixtures/speech-16k.wav', import.meta.url)));
/** Where the fixture's two sentences are (see fixtures/generate-speech.sh). */
const sentences = [
  { from: 600, to: 3159 },
  { from: 4359, to: 6337 },
];

async function run(detector: VoiceActivityDetector, samples: Int16Array): Promise<VadEvent[]> {
  const events: VadEvent[] = [];
  for (let offset = 0; offset + FRAME_SAMPLES <= samples.length; offset += FRAME_SAMPLES) {
    events.push(...(await detector.process(samples.subarray(offset, offset + FRAME_SAMPLES))));
  }
  return events;
}

/** A stop long enough that the pauses inside the fixture's sentences do not end them. */
const sentenceStop = { stop_secs: 0.8 };

function expectSentences(events: VadEvent[], stopSecs: number): void {
  expect(events.map((event) => event.type)).toEqual(['user-started-speaking', 'user-stopped-speaking', 'user-started-speaking', 'user-stopped-speaking']);
  sentences.forEach((sentence, index) => {
    const start = events[index * 2] as VadEvent;
    const stop = events[index * 2 + 1] as VadEvent;
    expect(start.mediaTimeMs).toBeGreaterThanOrEqual(sentence.from - 100);
    expect(start.mediaTimeMs).toBeLessThanOrEqual(sentence.from + 250);
    expect(stop.mediaTimeMs).toBeGreaterThanOrEqual(sentence.to - 250);
    expect(stop.mediaTimeMs).toBeLessThanOrEqual(sentence.to + 150);
    expect(stop.detectedAtMs - stop.mediaTimeMs).toBeCloseTo(stopSecs * 1000, -2);
  });
}

describe('Silero VAD', () => {
  it('finds the start and end of each sentence in recorded speech', async () => {
    const detector = await createVoiceActivityDetector({ engine: 'silero', config: sentenceStop });
    expectSentences(await run(detector, speech.samples), 0.8);
  });

  it('still finds them in speech with background noise', async () => {
    const noise = whiteNoise(speech.samples.length, 300);
    const noisy = speech.samples.map((sample, index) => sample + (noise[index] as number));
    const detector = await createVoiceActivityDetector({ engine: 'silero', config: sentenceStop });
    expectSentences(await run(detector, noisy), 0.8);
  });

  it('finds them after u-law at 8 kHz and back to 16 kHz', async () => {
    const down = await SpeexResampler.create(16_000, 8000);
    const pair = await createWireCodecPair('ulaw', 'big');
    const narrow = new Int16Array(160);
    const wire = new Uint8Array(160);
    const detector = await createVoiceActivityDetector({ engine: 'silero', config: sentenceStop });
    const pending: Array<Promise<VadEvent[]>> = [];
    for (let offset = 0; offset + FRAME_SAMPLES <= speech.samples.length; offset += FRAME_SAMPLES) {
      down.process(speech.samples.subarray(offset, offset + FRAME_SAMPLES), narrow);
      g711Codec('ulaw').encode(narrow, wire);
      pair.decoder.decode(wire, (frame) => pending.push(detector.process(frame)));
    }
    const events = (await Promise.all(pending)).flat();
    down.destroy();
    pair.destroy();
    // The two resamplers delay the audio by about 12 ms; the tolerances cover it.
    expectSentences(events, 0.8);
  });

  it('stays quiet on silence, low noise, loud white noise and a hum', async () => {
    for (const samples of [new Int16Array(16_000 * 3), whiteNoise(16_000 * 3, 300), whiteNoise(16_000 * 3, 6000, 99), sineWave(50, 16_000, 16_000 * 3, 3000)]) {
      const detector = await createVoiceActivityDetector({ engine: 'silero' });
      expect(await run(detector, samples)).toEqual([]);
    }
  });

  it('follows start_secs and stop_secs from vad_config', async () => {
    const detector = await createVoiceActivityDetector({ engine: 'silero', config: { stop_secs: 0.3, start_secs: 0.1 } });
    const events = await run(detector, speech.samples);
    expect(detector.config).toEqual({ confidence: 0.7, start_secs: 0.1, stop_secs: 0.3, min_volume: 0.6 });
    const stop = events.find((event) => event.type === 'user-stopped-speaking');
    expect(stop && stop.detectedAtMs - stop.mediaTimeMs).toBeCloseTo(300, -2);
  });
});

describe('Silero runtimes', () => {
  it('gives the same events inline as batched in the worker', async () => {
    const inline = await createVoiceActivityDetector({ engine: 'silero', sileroRuntime: 'inline' });
    const worker = await createVoiceActivityDetector({ engine: 'silero', sileroRuntime: 'worker' });
    expect(await run(worker, speech.samples)).toEqual(await run(inline, speech.samples));
  });

  it('keeps the state of each call apart when many calls share batches', async () => {
    const batcher = new SileroBatcher({ gatherMs: 5 });
    const calls = 6;
    // Each call hears the fixture shifted by a different amount of leading silence.
    const inputs = Array.from({ length: calls }, (_, call) => {
      const shifted = new Int16Array(speech.samples.length + call * 1600);
      shifted.set(speech.samples, call * 1600);
      return shifted;
    });
    const detectors = await Promise.all(inputs.map(() => createVoiceActivityDetector({ engine: 'silero', sileroBatcher: batcher })));
    const together = await Promise.all(detectors.map((detector, call) => run(detector, inputs[call] as Int16Array)));
    expect(batcher.windows / batcher.batches).toBeGreaterThan(1.5);
    for (let call = 0; call < calls; call += 1) {
      const alone = await createVoiceActivityDetector({ engine: 'silero', sileroRuntime: 'inline' });
      expect(together[call]).toEqual(await run(alone, inputs[call] as Int16Array));
    }
    await batcher.close();
  });
});

describe('fallback VAD engines', () => {
  it.each(['webrtc', 'energy'] as const)('%s finds the sentences and stays quiet on silence and low noise', async (engine) => {
    const detector = await createVoiceActivityDetector({ engine, config: sentenceStop });
    expectSentences(await run(detector, speech.samples), 0.8);
    for (const samples of [new Int16Array(16_000 * 2), whiteNoise(16_000 * 3, 300)]) {
      const quiet = await createVoiceActivityDetector({ engine });
      expect(await run(quiet, samples)).toEqual([]);
      expect(quiet.processSync(new Int16Array(FRAME_SAMPLES))).toEqual([]);
    }
  });
});

/** A scripted model: probability per window from a list. */
function scripted(probabilities: number[]): SpeechProbabilityModel {
  let index = 0;
  return { engine: 'energy', synchronous: true, windowSamples: FRAME_SAMPLES, probability: () => probabilities[index++] ?? 0, reset: () => {}, dispose: () => {} };
}

describe('VoiceActivityDetector decisions', () => {
  const loud = new Int16Array(FRAME_SAMPLES).fill(3000);

  it('needs start_secs of consecutive speech and stop_secs of non-speech', () => {
    // 20 ms windows: start after 3 windows, stop after 5.
    const pattern = [1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    const detector = new VoiceActivityDetector(scripted(pattern), { start_secs: 0.06, stop_secs: 0.1, min_volume: 0 });
    const events = pattern.flatMap(() => [...detector.processSync(loud)]);
    expect(events).toEqual([
      { type: 'user-started-speaking', mediaTimeMs: 60, detectedAtMs: 120 },
      { type: 'user-stopped-speaking', mediaTimeMs: 200, detectedAtMs: 300 },
    ]);
  });

  it('ignores confident windows below min_volume or below confidence', () => {
    const quietFrame = new Int16Array(FRAME_SAMPLES).fill(20);
    expect(windowVolume(quietFrame)).toBeLessThan(0.6);
    expect(windowVolume(loud)).toBeGreaterThan(0.6);
    const detector = new VoiceActivityDetector(scripted(new Array(50).fill(1)), { start_secs: 0.04 });
    expect(Array.from({ length: 50 }, () => detector.processSync(quietFrame)).flat()).toEqual([]);
    const unsure = new VoiceActivityDetector(scripted(new Array(50).fill(0.69)), { start_secs: 0.04 });
    expect(Array.from({ length: 50 }, () => unsure.processSync(loud)).flat()).toEqual([]);
  });

  it('takes new settings from the next window on (a team hand-over), missing fields from the defaults', () => {
    // Speech, then 8 windows of silence: under stop_secs 0.1 (5 windows) it stops; under 0.2 (10) not yet.
    const pattern = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    const first = new VoiceActivityDetector(scripted([...pattern, ...pattern]), { start_secs: 0.06, stop_secs: 0.1, min_volume: 0 });
    expect(pattern.flatMap(() => [...first.processSync(loud)]).map((event) => event.type)).toEqual(['user-started-speaking', 'user-stopped-speaking']);
    first.configure({ start_secs: 0.06, stop_secs: 0.2, min_volume: 0 });
    expect(first.config.stop_secs).toBe(0.2);
    expect(pattern.flatMap(() => [...first.processSync(loud)]).map((event) => event.type)).toEqual(['user-started-speaking']);
    first.configure({});
    expect(first.config).toMatchObject({ start_secs: defaultVadConfig.start_secs, stop_secs: defaultVadConfig.stop_secs, confidence: defaultVadConfig.confidence });
  });
});
