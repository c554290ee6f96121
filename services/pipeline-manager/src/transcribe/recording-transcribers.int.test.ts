import { appError, createInProcessBus, createRpcRouter, resampleClip, silentLogger, synthesizeWithEspeak, type Bus } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSttProvider } from '../providers/registry.ts';
import { FakeStt } from '../pipeline/testing/fakes.ts';
import { Transcribers, transcriberStartSchema, type Transcript } from './transcribers.ts';

const customerId = randomUUID();
const recordingId = randomUUID();
const rate = 8000;

/** `ms` of quiet at 8 kHz. */
const quiet = (ms: number) => new Int16Array((rate * ms) / 1000);

function joined(parts: Int16Array[]): Int16Array {
  const result = new Int16Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    result.set(part, at);
    at += part.length;
  }
  return result;
}

/**
 * A stored recording served as flow-manager serves it (`GET /v1/recordings/{id}/audio`, windows
 * of 16-bit little-endian PCM, base64), to its customer only; the caller's side (`in`) is
 * espeak-ng speech, the other side a few words too. Transcribed with the real offline recogniser.
 */
describe('Transcribers of a recording', () => {
  let bus: Bus;
  const windows: { direction: string; offset: number; length: number }[] = [];
  const sides: Record<string, Int16Array> = {};
  let speechAtMs: Record<string, number[]> = {};

  beforeEach(async () => {
    bus = createInProcessBus();
    windows.length = 0;
    const speak = async (text: string) => (await resampleClip(await synthesizeWithEspeak(text, { voice: 'en-us' }), rate)).samples;
    const first = await speak('book a table for two people tomorrow');
    const second = await speak('what are your opening hours');
    const answer = await speak('we open at nine');
    // in: 1.5 s quiet, the first sentence, 2 s quiet, the second, 1 s quiet; out: 4 s quiet, the answer, quiet to the same length.
    sides.in = joined([quiet(1500), first, quiet(2000), second, quiet(1000)]);
    const outHead = joined([quiet(4000), answer]);
    sides.out = joined([outHead, new Int16Array(Math.max(0, sides.in.length - outHead.length))]);
    speechAtMs = { in: [1500, 1500 + (first.length / rate) * 1000 + 2000], out: [4000] };
    const router = createRpcRouter().add('GET', '/v1/recordings/:id/audio', async ({ params, query }) => {
      if (params.id !== recordingId || query.get('customer_id') !== customerId) throw appError('RESOURCE_NOT_FOUND', 'No recording.');
      const direction = query.get('direction')!;
      const side = sides[direction]!;
      const offset = Number(query.get('offset_ms'));
      const length = Number(query.get('length_ms'));
      windows.push({ direction, offset, length });
      const samples = side.subarray((offset * rate) / 1000, ((offset + length) * rate) / 1000);
      return { sample_rate: rate, offset_ms: offset, duration_ms: Math.round((side.length / rate) * 1000), audio: Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString('base64') };
    });
    await bus.serve('flow-manager', router.handle);
  });
  afterEach(async () => {
    await bus.close();
  });

  it('hears the whole file faster than real time: each sentence once, at its place in the recording; then tells it has finished', async () => {
    const transcripts: Transcript[] = [];
    const finished: unknown[] = [];
    const usages: { audio_seconds: number }[] = [];
    const phrases = ['book a table for two people tomorrow', 'what are your opening hours', 'we open at nine'];
    const transcribers = new Transcribers({
      bus,
      logger: silentLogger(),
      serviceName: 'pipeline-manager',
      instanceId: 'test',
      stt: (request) => createSttProvider({ stt_type: 'local', parameter: request.parameter }),
      report: {
        transcript: async (transcript) => transcripts.push(transcript),
        usage: async (usage) => usages.push(usage),
        finished: async (done) => finished.push(done),
      },
    });
    const transcribeId = randomUUID();
    const startedAt = Date.now();
    const started = await Promise.all(
      (['in', 'out'] as const).map((direction) =>
        transcribers.start(transcriberStartSchema.parse({ transcribe_id: transcribeId, customer_id: customerId, recording_id: recordingId, direction, stt_type: 'local', parameter: { stt_phrases: phrases } })),
      ),
    );
    await eventually(() => finished.length === 2, 'both directions to finish', 30_000, 50);
    const seconds = (Date.now() - startedAt) / 1000;
    const durationS = sides.in!.length / rate;
    // 10 times real time by default: well under the recording's own length.
    expect(seconds).toBeLessThan(durationS / 2);
    expect(finished).toEqual(expect.arrayContaining(started.map((entry) => ({ customer_id: customerId, transcribe_id: transcribeId, transcriber_id: entry.transcriber_id }))));
    expect(transcribers.size).toBe(0);

    const heard = (direction: string) => transcripts.filter((transcript) => transcript.direction === direction);
    expect(heard('in').map((transcript) => transcript.text)).toEqual(['book a table for two people tomorrow', 'what are your opening hours']);
    expect(heard('out').map((transcript) => transcript.text)).toEqual(['we open at nine']);
    // Offsets are positions in the recording (within the recogniser's 100 ms onset and a frame).
    for (const direction of ['in', 'out']) {
      heard(direction).forEach((transcript, index) => {
        expect(Math.abs(transcript.offset_ms - speechAtMs[direction]![index]!), `${direction} #${index}`).toBeLessThan(150);
      });
    }
    // The windows were read in order, each direction once; usage is the recording's length.
    expect(windows.filter((window) => window.direction === 'in').map((window) => window.offset)).toEqual([0]);
    expect(usages.reduce((sum, usage) => sum + usage.audio_seconds, 0)).toBeCloseTo(2 * durationS, 0);
  }, 60_000);

  it('started again after a lost one (resume_after_ms): hears the whole file but reports only the utterances after that point', async () => {
    const transcripts: Transcript[] = [];
    const finished: unknown[] = [];
    const transcribers = new Transcribers({
      bus,
      logger: silentLogger(),
      serviceName: 'pipeline-manager',
      instanceId: 'test',
      stt: (request) => createSttProvider({ stt_type: 'local', parameter: request.parameter }),
      report: { transcript: async (transcript) => transcripts.push(transcript), usage: async () => undefined, finished: async (done) => finished.push(done) },
    });
    const phrases = ['book a table for two people tomorrow', 'what are your opening hours'];
    // The first sentence (at 1.5 s) was reported by the lost transcriber.
    const resumeAfterMs = speechAtMs.in![0]! + 300;
    await transcribers.start(
      transcriberStartSchema.parse({ transcribe_id: randomUUID(), customer_id: customerId, recording_id: recordingId, direction: 'in', stt_type: 'local', parameter: { stt_phrases: phrases }, resume_after_ms: resumeAfterMs }),
    );
    await eventually(() => finished.length === 1, 'the end', 30_000, 50);
    expect(transcripts.map((transcript) => transcript.text)).toEqual(['what are your opening hours']);
    expect(Math.abs(transcripts[0]!.offset_ms - speechAtMs.in![1]!)).toBeLessThan(150);
  }, 60_000);

  it('reads a long recording a window at a time, and stops when asked (no finish reported)', async () => {
    sides.in = new Int16Array(rate * 50); // 50 s of quiet: three windows
    const stt = new FakeStt();
    const finished: unknown[] = [];
    const slow = new Transcribers({
      bus,
      logger: silentLogger(),
      serviceName: 'pipeline-manager',
      instanceId: 'test',
      stt: () => stt,
      recordingSpeed: 1000,
      report: { transcript: async () => undefined, usage: async () => undefined, finished: async (done) => finished.push(done) },
    });
    await slow.start(transcriberStartSchema.parse({ transcribe_id: randomUUID(), customer_id: customerId, recording_id: recordingId, direction: 'in' }));
    await eventually(() => finished.length === 1, 'the end', 10_000, 20);
    expect(windows.map((window) => window.offset)).toEqual([0, 20_000, 40_000]);
    expect(stt.session!.written).toBe(2500);

    const paced = new Transcribers({ bus, logger: silentLogger(), serviceName: 'pipeline-manager', instanceId: 'test', stt: () => new FakeStt(), recordingSpeed: 1, report: { transcript: async () => undefined, usage: async () => undefined, finished: async (done) => finished.push(done) } });
    const running = await paced.start(transcriberStartSchema.parse({ transcribe_id: randomUUID(), customer_id: customerId, recording_id: recordingId, direction: 'in' }));
    expect(paced.list()).toEqual([expect.objectContaining({ recording_id: recordingId, call_id: null })]);
    await paced.stop(running.transcriber_id, 'test');
    expect(paced.size).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(finished).toHaveLength(1);
  });

  it("is refused for another customer's recording, and leaves nothing running", async () => {
    const transcribers = new Transcribers({ bus, logger: silentLogger(), serviceName: 'pipeline-manager', instanceId: 'test', stt: () => new FakeStt() });
    await expect(
      transcribers.start(transcriberStartSchema.parse({ transcribe_id: randomUUID(), customer_id: randomUUID(), recording_id: recordingId, direction: 'in' })),
    ).rejects.toMatchObject({ httpStatus: 404 });
    expect(transcribers.size).toBe(0);
    expect(() => transcriberStartSchema.parse({ transcribe_id: randomUUID(), customer_id: customerId, recording_id: recordingId, call_id: randomUUID(), direction: 'in' })).toThrow(/either call_id or recording_id/);
  });
});
