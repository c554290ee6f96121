import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRecordingStorage } from '@avp/flow-manager';
import { registryProviders } from '@avp/pipeline-manager';
import { type Recording } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { afterAll, expect, it } from 'vitest';
import { askNameScript, describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

/** Mean square of each 100 ms window of one channel (0 left, 1 right) of a stereo 16-bit WAV. */
function windowEnergy(file: Buffer, channel: 0 | 1): number[] {
  const rate = file.readUInt32LE(24);
  const data = file.subarray(44);
  const frames = Math.floor(data.length / 4);
  const size = rate / 10;
  const energies: number[] = [];
  for (let start = 0; start + size <= frames; start += size) {
    let sum = 0;
    for (let frame = start; frame < start + size; frame++) sum += data.readInt16LE(frame * 4 + channel * 2) ** 2;
    energies.push(sum / size);
  }
  return energies;
}

/**
 * A call recorded from its flow (`recording_start`) while an AI session talks on it: the AI
 * session goes on undisturbed, the caller's hang-up ends the recording, and the public API
 * serves one stereo WAV with the caller on the left and what it heard (the AI) on the right.
 */
await describeModes('a call recorded beside its AI session, served over the public API', (mode) => {
  const directory = mkdtempSync(join(tmpdir(), 'avp-e2e-recordings-'));
  const stack = useStack({
    mode,
    name: 'recordings',
    flowManager: { recordingStorage: new LocalRecordingStorage(directory) },
    pipelineManager: { createVad: async () => loudnessVad(), providers: { ...registryProviders, stt: () => scriptedStt(['Ada']) } },
  });
  const api: Api = (...args) => stack.api(...args);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('records both sides while the AI talks, and serves the WAV once the caller hung up', async () => {
    const ai = await api('POST', '/v1.0/ais', scriptedAi(askNameScript));
    const number = await stack.numberWithFlow([{ type: 'answer' }, { type: 'recording_start' }, { type: 'ai_talk', option: { ai_id: ai.id } }, { type: 'hangup' }]);
    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558881000' });
    await caller.waitForAudio(20_000); // The greeting.
    const calls = (await api('GET', '/v1.0/calls')).result as { id: string; channel_id: string; activeflow_id: string }[];
    const call = calls.find((entry) => entry.channel_id === caller.id)!;
    const activeflow = await api('GET', `/v1.0/activeflows/${call.activeflow_id}`);
    const recordingId = (activeflow.variables as Record<string, string>)['voipbin.recording.id']!;
    expect(await api('GET', `/v1.0/recordings/${recordingId}`)).toMatchObject({ reference_type: 'call', reference_id: call.id, status: 'recording' });

    // The AI session hears the caller while the call is recorded.
    await caller.waitForSilence(20_000);
    const aicalls = (await api('GET', '/v1.0/aicalls')).result as { id: string; reference_id: string }[];
    const aicall = aicalls.find((entry) => entry.reference_id === call.id)!;
    const messages = async () => ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)) as { result: { role: string; content: string }[] }).result;
    await eventually(async () => (await messages()).some((message) => message.role === 'assistant'), 'the greeting to be stored', 20_000);
    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    await eventually(async () => (await messages()).some((message) => message.content.startsWith('Nice to meet you, Ada')), 'the answer', 30_000);
    caller.hangup();

    await eventually(async () => (await api('GET', `/v1.0/recordings/${recordingId}`)).status === 'ended', 'the recording to end with the call', 20_000);
    const recording = (await api('GET', `/v1.0/recordings/${recordingId}`)) as unknown as Recording;
    expect(recording.duration_ms).toBeGreaterThan(2000);
    const response = await stack.app.inject({ method: 'GET', url: `/v1.0/recordings/${recordingId}/file`, headers: { authorization: `Bearer ${stack.key}` } });
    expect([response.statusCode, response.headers['content-type']]).toEqual([200, 'audio/wav']);
    const file = response.rawPayload;
    expect(file.readUInt16LE(22)).toBe(2);
    const [left, right] = [windowEnergy(file, 0), windowEnergy(file, 1)];
    const loud = 1_000_000;
    // The caller spoke once (0.8 s), after the greeting; the greeting is only on the right.
    const spoke = left.findIndex((energy) => energy > loud);
    expect(left.filter((energy) => energy > loud).length).toBeGreaterThanOrEqual(5);
    const greeting = right.slice(0, spoke).filter((energy) => energy > 100_000).length;
    expect(greeting, 'the greeting heard before the caller spoke').toBeGreaterThanOrEqual(10);
    expect(Math.max(...left.slice(0, spoke - 1)), 'the caller silent during the greeting').toBeLessThan(100_000);
    // Another customer sees nothing of it.
    const other = stack.apiAs(await stack.createCustomer('recordings-other'));
    expect(await other('GET', `/v1.0/recordings/${recordingId}`).catch((error: unknown) => String(error))).toMatch(/404/);
  }, 120_000);
});
