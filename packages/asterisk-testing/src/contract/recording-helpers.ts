import { parseWav } from '@avp/asterisk-simulator';
import { expect } from 'vitest';
import type { AriTestEvent } from '../ari-test-client.ts';
import type { ContractContext } from './contract-context.ts';

/** The parameters flow-manager records a snoop with. */
export const recordParameters = { format: 'wav', ifExists: 'overwrite', beep: 'false', terminateOn: 'none', maxDurationSeconds: '0', maxSilenceSeconds: '0' };

/** A raw ARI request: status, headers and body bytes (the JSON client hides headers and binary bodies). */
export async function ari(context: ContractContext, method: string, path: string, query: Record<string, string> = {}) {
  const { telephony } = context;
  const url = new URL(`${telephony.url}/ari${path}`);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  const authorization = `Basic ${Buffer.from(`${telephony.ariUser}:${telephony.ariPassword}`).toString('base64')}`;
  const response = await fetch(url, { method, headers: { authorization }, signal: AbortSignal.timeout(10_000) });
  const body = Buffer.from(await response.arrayBuffer());
  const json = response.headers.get('content-type')?.includes('application/json') ? (JSON.parse(body.toString()) as Record<string, unknown>) : undefined;
  return { status: response.status, headers: response.headers, body, json };
}

export const unique = (prefix: string) => `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

/** A snoop on the call, in the app and not bridged (a channel in a bridge cannot record). */
export async function snoop(context: ContractContext, channelId: string, spy: 'in' | 'out'): Promise<string> {
  const snoopId = unique(`contract-record-snoop-${spy}`);
  const started = context.app.waitFor((event) => event.type === 'StasisStart' && event.channel?.id === snoopId, 5000, "the snoop's StasisStart");
  await context.app.request('POST', `/channels/${channelId}/snoop`, { app: context.app.app, spy, snoopId });
  await started;
  return snoopId;
}

export const recordingEvent = (name: string, type: string) => (event: AriTestEvent) => event.type === type && (event.recording as { name?: string } | undefined)?.name === name;
export const eventsAbout = (context: ContractContext, name: string) => context.app.received.filter((event) => (event.recording as { name?: string } | undefined)?.name === name);

/** Starts a recording with flow-manager's parameters; resolves with its 201 and its RecordingStarted. */
export async function record(context: ContractContext, channelId: string, name: string) {
  const started = context.app.waitFor(recordingEvent(name, 'RecordingStarted'), 5000, `RecordingStarted of ${name}`);
  const response = await ari(context, 'POST', `/channels/${channelId}/record`, { name, ...recordParameters });
  const event = await started;
  return { response, event, startedAt: performance.now() };
}

/** The amplitude of one frequency in a signal (Goertzel), relative to full scale of the signal's length. */
export function amplitudeAt(samples: Int16Array, sampleRate: number, hz: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
  let previous = 0;
  let beforePrevious = 0;
  for (const sample of samples) {
    const current = sample + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
  }
  const power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
  return (2 * Math.sqrt(Math.max(0, power))) / samples.length;
}

/** 100 ms windows of a recording whose level is above `rms`. */
export function loudWindows(samples: Int16Array, sampleRate: number, rms = 1000): number {
  const window = sampleRate / 10;
  let loud = 0;
  for (let start = 0; start + window <= samples.length; start += window) {
    let sum = 0;
    for (let index = start; index < start + window; index += 1) sum += samples[index]! * samples[index]!;
    if (Math.sqrt(sum / window) > rms) loud += 1;
  }
  return loud;
}

/** Fetches a stored recording's file and checks it is the WAV Asterisk writes for `wav`: 8 kHz, 16-bit, mono. */
export async function storedWav(context: ContractContext, name: string) {
  const file = await ari(context, 'GET', `/recordings/stored/${encodeURIComponent(name)}/file`);
  expect(file.status).toBe(200);
  expect(file.headers.get('content-type')).toBe('audio/wav');
  const header = { channels: file.body.readUInt16LE(22), bits: file.body.readUInt16LE(34), dataBytes: file.body.readUInt32LE(40) };
  expect(header).toEqual({ channels: 1, bits: 16, dataBytes: file.body.length - 44 });
  const audio = parseWav(file.body);
  expect(audio.sampleRate).toBe(8000);
  return audio.samples;
}
