import { resampleClip, synthesizeWithEspeak } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';

interface Transcript {
  direction: 'in' | 'out';
  message: string;
  offset_ms: number;
}

/**
 * One sentence each, with commas: between two sentences espeak-ng pauses about 280 ms, and a
 * process stall of some 300 ms on a loaded machine (the WAV then holds a longer pause) made the
 * transcription's recogniser, which ends an utterance after 600 ms of quiet, hear each half on
 * its own and match neither to a phrase ("bob ada"). A comma pauses about 160 ms.
 */
const greeting = 'Hello, this is the offline assistant, what is your name?';
const answer = 'Thank you, Bob, goodbye.';
/**
 * What the transcription listens for (the offline recogniser knows declared phrases only): the
 * caller's words and the AI's sentences as it says them to this caller. (Sub-phrases hurt: the
 * grammar decoder then takes a short one for a whole utterance; and "nice to meet you" was never
 * recognised in espeak-ng's voice at 8 kHz, so the AI says "thank you".)
 */
const phrases = ['Ada', 'Bob', greeting, answer];

/** Seconds of 20 ms frames louder than `threshold` in one channel of a 16-bit stereo WAV, from `fromS` to `toS`. */
function loudSeconds(wav: Buffer, channel: 0 | 1, rate: number, fromS = 0, toS = Infinity, threshold = 500): number {
  const frames = (wav.length - 44) / 4;
  const frame = rate / 50;
  let loud = 0;
  for (let start = Math.floor(fromS * rate); start + frame <= Math.min(frames, toS * rate); start += frame) {
    let sum = 0;
    for (let index = start; index < start + frame; index++) sum += wav.readInt16LE(44 + index * 4 + channel * 2) ** 2;
    if (Math.sqrt(sum / frame) > threshold) loud += 0.02;
  }
  return loud;
}

/** When (s) one channel of a 16-bit stereo WAV is first louder than `threshold` for a 20 ms frame. */
function firstLoudSeconds(wav: Buffer, channel: 0 | 1, rate: number, threshold = 500): number {
  const frames = (wav.length - 44) / 4;
  const frame = rate / 50;
  for (let start = 0; start + frame <= frames; start += frame) {
    let sum = 0;
    for (let index = start; index < start + frame; index++) sum += wav.readInt16LE(44 + index * 4 + channel * 2) ** 2;
    if (Math.sqrt(sum / frame) > threshold) return start / rate;
  }
  return Infinity;
}

/**
 * After the call, on both run modes with the simulator: a flow records an AI call
 * (`recording_start`); the recording is served to its owner as a stereo WAV (left the caller,
 * right what the caller heard) whose audio is the call's; then it is transcribed (offline
 * recogniser, at ten times real time) and summarised (offline summariser); another customer
 * sees none of it.
 */
await describeModes('a recorded AI call, transcribed and summarised after it ended', (mode) => {
  const stack = useStack(() => ({ mode, name: 'recordings-after-call', aiManager: { transcribes: { sttType: 'local' } } }));
  const api: Api = (...args) => stack.api(...args);

  it('records the call, serves the WAV, transcribes and summarises the recording', async () => {
    const ai = await api(
      'POST',
      '/v1.0/ais',
      scriptedAi({ script: [{ say: greeting }, { wait: 'answer', into: 'name' }, { say: 'Thank you, ${name}, goodbye.' }, { end: true }] }, { stt_type: 'local', tool_names: ['stop_service'], parameter: { stt_phrases: ['Ada', 'Bob'] } }),
    );
    const number = await stack.numberWithFlow([{ type: 'answer' }, { type: 'recording_start' }, { type: 'ai_talk', option: { ai_id: ai.id } }, { type: 'hangup' }]);
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15550004567' });
    await caller.waitForAnswer(10_000);
    await caller.waitForAudio(20_000);
    // The whole greeting played (it is stored once heard to the end), then the caller answers.
    const stored = async () => {
      const aicall = ((await api('GET', '/v1.0/aicalls')).result as { id: string }[])[0];
      return aicall ? ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}&page_size=100`)).result as { role: string; content: string }[]) : [];
    };
    await eventually(async () => (await stored()).some((message) => message.role === 'assistant' && message.content === greeting), 'the greeting to be played', 20_000);
    const name = (await resampleClip(await synthesizeWithEspeak('Bob', { voice: 'en-us' }), 16_000)).samples;
    await caller.play(name);
    await eventually(() => caller.ended, 'the flow to hang up after the AI', 40_000);

    const calls = (await api('GET', '/v1.0/calls')).result as { id: string; channel_id: string; activeflow_id: string }[];
    const call = calls.find((entry) => entry.channel_id === caller.id)!;
    const activeflow = await api('GET', `/v1.0/activeflows/${call.activeflow_id}`);
    const recordingId = (activeflow.variables as Record<string, string>)['voipbin.recording.id']!;
    expect(recordingId).toMatch(/^[0-9a-f-]{36}$/);
    await eventually(async () => (await api('GET', `/v1.0/recordings/${recordingId}`)).status === 'ended', 'the recording to be stored', 20_000);
    const recording = await api('GET', `/v1.0/recordings/${recordingId}`);
    expect(recording).toMatchObject({ reference_type: 'call', reference_id: call.id, format: 'wav' });

    // The WAV: the caller's "Bob" on the left around when it was said, the AI on the right.
    const raw = await stack.app.inject({ method: 'GET', url: `/v1.0/recordings/${recordingId}/file`, headers: { authorization: `Bearer ${stack.key}` } });
    expect(raw.statusCode).toBe(200);
    expect(raw.headers['content-type']).toMatch(/audio\/(wav|x-wav)/);
    const wav = raw.rawPayload;
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt16LE(22)).toBe(2);
    const rate = wav.readUInt32LE(24);
    const seconds = (wav.length - 44) / 4 / rate;
    // Times in the WAV count from the recording's start (a little after the answer): the caller's
    // first sound there, not the test's clock, places "Bob".
    const firstLoudS = firstLoudSeconds(wav, 0, rate);
    expect(firstLoudS).toBeGreaterThan(1);
    expect(seconds).toBeGreaterThan(firstLoudS);
    expect(loudSeconds(wav, 1, rate, 0, firstLoudS)).toBeGreaterThan(1.5); // the greeting, heard before the caller spoke
    expect(loudSeconds(wav, 0, rate, firstLoudS, firstLoudS + 2)).toBeGreaterThan(0.2); // "Bob"

    // Another customer: nothing of it.
    const otherKey = await stack.createCustomer('recordings-other');
    const other = stack.apiAs(otherKey);
    await expect(other('GET', `/v1.0/recordings/${recordingId}`)).rejects.toThrow(/404/);
    await expect(other('POST', '/v1.0/transcribes', { reference_type: 'recording', reference_id: recordingId })).rejects.toThrow(/404/);
    await expect(other('POST', '/v1.0/aisummaries', { reference_type: 'recording', reference_id: recordingId })).rejects.toThrow(/404/);
    const foreignFile = await stack.app.inject({ method: 'GET', url: `/v1.0/recordings/${recordingId}/file`, headers: { authorization: `Bearer ${otherKey}` } });
    expect(foreignFile.statusCode).toBe(404);

    // Transcribed after the call: each side's words, at their place in the recording.
    const transcribe = await api('POST', '/v1.0/transcribes', { reference_type: 'recording', reference_id: recordingId, language: 'en-US', phrases });
    expect(transcribe).toMatchObject({ reference_type: 'recording', status: 'progressing' });
    await eventually(async () => (await api('GET', `/v1.0/transcribes/${transcribe.id as string}`)).status === 'done', 'the recording to be transcribed', 30_000);
    const transcripts = ((await api('GET', `/v1.0/transcripts?transcribe_id=${transcribe.id as string}&page_size=100`)).result as Transcript[]).reverse();
    expect(transcripts.filter((entry) => entry.direction === 'in').map((entry) => entry.message)).toEqual(['bob']);
    expect(
      transcripts
        .filter((entry) => entry.direction === 'out')
        .map((entry) => entry.message)
        .join(' '),
    ).toBe('hello this is the offline assistant what is your name thank you bob goodbye');
    const said = transcripts.find((entry) => entry.direction === 'in')!;
    expect(Math.abs(said.offset_ms / 1000 - firstLoudS)).toBeLessThan(0.5);

    // Summarised after the call: from the recording's transcription (reused, not made again), by the offline summariser.
    const summary = await api('POST', '/v1.0/aisummaries', { reference_type: 'recording', reference_id: recordingId, language: 'en-US' });
    await eventually(async () => (await api('GET', `/v1.0/aisummaries/${summary.id as string}`)).status !== 'progressing', 'the summary', 30_000);
    const done = await api('GET', `/v1.0/aisummaries/${summary.id as string}`);
    expect(done.status).toBe('done');
    expect(String(done.content).toLowerCase()).toContain('caller: bob');
    expect(String(done.content).toLowerCase()).toContain('agent: thank you bob goodbye');
  }, 120_000);
});
