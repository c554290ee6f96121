import { afterEach, describe, expect, it } from 'vitest';
import { Conversation, type ConversationEvent } from '../../pipeline/conversation.ts';
import { FakeStt, FakeTransport, FakeTts, FakeLlm, words } from '../../pipeline/testing/fakes.ts';
import { FRAME_SAMPLES } from '../audio-format.ts';
import { SileroBatcher } from './silero-batcher.ts';
import { skippedVadWindowsInProcess } from './skipped-windows.ts';
import type { SpeechProbabilityModel } from './speech-probability.ts';
import { VoiceActivityDetector, type VadEvent } from './voice-activity-detector.ts';

/**
 * Under CPU overload the VAD's model falls behind the calls' audio (at 300 calls on a starved
 * CPU the batcher stopped delivering results at all). These check that what it owes stays
 * bounded, that windows it cannot serve in time are skipped and counted, that audio keeps
 * flowing both ways meanwhile, and that decisions resume once the model keeps up again.
 */

const loud = (frames: number) => new Int16Array(FRAME_SAMPLES * frames).fill(8000);
const frame = (samples: Int16Array, index: number) => samples.subarray(index * FRAME_SAMPLES, (index + 1) * FRAME_SAMPLES);
const window512 = (value: number) => new Int16Array(512).fill(value);

/** A model the test answers by hand (`release`), or at once once `keepingUp`. */
class HeldModel implements SpeechProbabilityModel {
  readonly engine = 'silero' as const;
  readonly synchronous = false;
  readonly windowSamples = 512;
  calls = 0;
  keepingUp = false;
  private readonly held: (() => void)[] = [];

  probability(window: Int16Array): Promise<number> {
    this.calls += 1;
    const probability = Math.abs(window[0] ?? 0) > 1000 ? 0.9 : 0.05;
    if (this.keepingUp) return Promise.resolve(probability);
    return new Promise((resolve) => this.held.push(() => resolve(probability)));
  }

  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  reset(): void {}
  dispose(): void {}
}

const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

describe('SileroBatcher under overload (a slow model double in the worker)', () => {
  it('bounds its queue, skips and counts stale windows, settles every window and serves fresh ones again', async () => {
    const batcher = new SileroBatcher({
      workerUrl: new URL('./testing/slow-model-worker.mjs', import.meta.url),
      workerData: { delayMs: 300, slowBatches: 3 },
      maxQueued: 8,
      maxWaitMs: 100,
      gatherMs: 1,
    });
    closing.push(() => batcher.close());
    await batcher.whenReady();
    const before = skippedVadWindowsInProcess();
    const skippedBefore = before.stale + before.queue_full;
    const calls = Array.from({ length: 12 }, () => batcher.register());
    const results: Promise<number | null>[] = [];
    let mostQueued = 0;
    // Every call sends a window every 32 ms for ~0.6 s while batches take 300 ms.
    for (let round = 0; round < 20; round += 1) {
      for (const id of calls) {
        results.push(batcher.submit(id, window512(8000)));
        mostQueued = Math.max(mostQueued, batcher.queued);
      }
      await new Promise((resolve) => setTimeout(resolve, 32));
    }
    const settled = await Promise.all(results);
    expect(mostQueued).toBeLessThanOrEqual(8);
    const skipped = settled.filter((probability) => probability === null).length;
    expect(skipped).toBeGreaterThan(0);
    expect(batcher.skipped).toBe(skipped);
    const after = skippedVadWindowsInProcess();
    expect(after.stale + after.queue_full - skippedBefore).toBe(skipped);
    expect(new Set(settled.filter((probability) => probability !== null))).toEqual(new Set([0.75]));
    // The slow batches are over: a fresh window gets its answer.
    await expect(batcher.submit(calls[0]!, window512(0))).resolves.toBe(0.125);
    expect(batcher.queued).toBe(0);
  });
});

describe('VoiceActivityDetector under overload', () => {
  it('holds at most maxWaitingWindows, skips what went stale, and decides again once the model keeps up', async () => {
    const model = new HeldModel();
    let clock = 0;
    const detector = new VoiceActivityDetector(model, { start_secs: 0.1, stop_secs: 0.2, min_volume: 0 }, { maxWaitMs: 100, maxWaitingWindows: 8, now: () => clock });
    const events: VadEvent[] = [];
    detector.onEvent((event) => events.push(event));
    const speech = loud(100);
    const pending: Promise<VadEvent[]>[] = [];
    // Two seconds of speech while the model answers nothing.
    for (let index = 0; index < 100; index += 1) {
      pending.push(detector.process(frame(speech, index)));
      clock += 20;
      expect(detector.windowsWaiting).toBeLessThanOrEqual(8);
      await new Promise((resolve) => setImmediate(resolve)); // frames arrive as I/O events
    }
    const windows = Math.floor((100 * FRAME_SAMPLES) / 512); // 62
    expect(detector.windowsSkipped).toBe(windows - 8);
    expect(model.calls).toBe(1);

    // The model answers the one it held; the rest waited too long and are skipped unasked.
    model.keepingUp = true;
    model.release();
    await Promise.all(pending);
    expect(model.calls).toBe(1);
    expect(detector.windowsSkipped).toBe(windows - 1);
    expect(detector.windowsWaiting).toBe(0);
    expect(events).toEqual([]);

    // Fresh speech is analysed again: the caller is heard.
    for (let index = 0; index < 20; index += 1) {
      await detector.process(frame(speech, index));
      clock += 20;
    }
    expect(events.map((event) => event.type)).toEqual(['user-started-speaking']);
  });
});

describe('a conversation whose VAD model cannot keep up', () => {
  it('keeps sending the bot audio and taking caller audio, then hears the caller again', async () => {
    const greeting = 'Hello, this is the clinic. We are open every day from eight to six.';
    const model = new HeldModel();
    const transport = new FakeTransport(20); // plays in real time
    const stt = new FakeStt();
    const events: ConversationEvent[] = [];
    const vad = new VoiceActivityDetector(model, { start_secs: 0.1, stop_secs: 0.2, min_volume: 0 }, { maxWaitMs: 200, maxWaitingWindows: 16 });
    const conversation = new Conversation({
      transport,
      vad,
      stt,
      llm: new FakeLlm([words(greeting)]),
      tts: new FakeTts(20),
      language: 'en-US',
      voiceId: 'v1',
      messages: [],
      tools: [],
      executeTool: async () => ({ result: '{}', runLlm: false }),
      onEvent: (event) => events.push(event),
    });
    closing.push(async () => {
      await conversation.stop('test over');
      await transport.close();
    });
    await conversation.start();
    // The caller's line is noisy while the bot greets, in real time: the VAD owes more than it can analyse.
    const noisy = setInterval(() => transport.hear(1, 3000), 20);
    try {
      const answer = () => events.find((event) => event.type === 'assistant_message');
      const deadline = Date.now() + 10_000;
      while (!answer() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(answer()).toMatchObject({ text: greeting, interrupted: false }); // played to the end, never cut
    } finally {
      clearInterval(noisy);
    }
    // The whole greeting went out: the TTS double makes 20 ms (one frame) per character.
    const greetingFrames = transport.played.filter((played) => played.segmentId.startsWith('1:')).length;
    expect(greetingFrames).toBe(greeting.split(/(?<=\.) /).reduce((frames, sentence) => frames + sentence.length, 0));
    expect(stt.session!.written).toBe(transport.stats().framesReceived); // every caller frame reached STT
    expect(vad.windowsSkipped).toBeGreaterThan(0);
    expect(model.calls).toBe(1);

    // The model keeps up again: the caller's next words are heard.
    model.keepingUp = true;
    model.release();
    await new Promise((resolve) => setImmediate(resolve));
    const startedBefore = vad.windowsAnalysed;
    transport.hear(20, 3000);
    const deadline = Date.now() + 5000;
    while (!vad.speaking && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(vad.speaking).toBe(true);
    expect(vad.windowsAnalysed).toBeGreaterThan(startedBefore);
  });
});
