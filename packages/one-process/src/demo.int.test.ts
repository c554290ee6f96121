import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@avp/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCallerLines, demoSmsLines, runDemo, type DemoResult } from './demo.ts';

/** The programs the offline engines run; without them the demo cannot run here. */
function missingTools(): string[] {
  const missing: string[] = [];
  const has = (command: string) => {
    try {
      execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!has('espeak-ng')) missing.push('espeak-ng');
  if (!has(process.env.POCKETSPHINX_BIN || 'pocketsphinx_continuous')) missing.push('pocketsphinx');
  if (!existsSync(join(process.env.POCKETSPHINX_MODEL_DIR || '/usr/share/pocketsphinx/model/en-us', 'en-us'))) missing.push('pocketsphinx-en-us');
  return missing;
}

/** Seconds of 20 ms frames louder than `threshold` in one channel of a 16-bit stereo WAV. */
function activeSeconds(wav: Buffer, channel: 0 | 1, threshold = 300): number {
  const frames = (wav.length - 44) / 4;
  let active = 0;
  for (let start = 0; start + 320 <= frames; start += 320) {
    let sum = 0;
    for (let index = start; index < start + 320; index++) {
      const sample = wav.readInt16LE(44 + index * 4 + channel * 2);
      sum += sample * sample;
    }
    if (Math.sqrt(sum / 320) > threshold) active += 0.02;
  }
  return active;
}

/**
 * `pnpm demo`'s scenario, run as the demo runs it (one process, PGlite, in-process bus, the
 * built-in simulator, offline engines: local.scripted, pocketsphinx, espeak-ng) but without
 * keeping the API up: the caller's synthesised answers are recognised, the AI stores them with
 * set_variables and hands the call back with stop_service, and the flow's talk is heard.
 */
describe('the one-command demo (offline engines)', () => {
  const missing = missingTools();
  let folder = '';
  let result: DemoResult | undefined;
  const printed: string[] = [];

  beforeAll(async () => {
    if (missing.length > 0) {
      if (process.env.CI === 'true') throw new Error(`the demo needs ${missing.join(', ')} (Debian packages)`);
      return;
    }
    folder = await mkdtemp(join(tmpdir(), 'demo-'));
    result = await runDemo({
      keepRunning: false,
      engines: 'local',
      wavPath: join(folder, 'call.wav'),
      environment: { PORT: '0', DATA_DIR: join(folder, 'data') },
      logger: silentLogger(),
      print: (line) => printed.push(line),
      callTimeoutMs: 90_000,
    });
  }, 150_000);

  afterAll(async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('holds the conversation: greeting, two recognised answers, set_variables, stop_service', (context) => {
    if (!result) return context.skip(`the demo needs ${missing.join(', ')} (Debian packages espeak-ng pocketsphinx pocketsphinx-en-us)`);
    const roles = result.messages.map((message) => message.role);
    expect(roles.filter((role) => role === 'assistant').length).toBeGreaterThanOrEqual(3);
    const heard = result.messages.filter((message) => message.role === 'user').map((message) => message.content.toLowerCase());
    expect(heard).toEqual(demoCallerLines.map((line) => line.toLowerCase()));
    const toolCalls = result.messages.flatMap((message) => message.tool_calls ?? []).map((call) => call.function.name);
    expect(toolCalls).toEqual(['set_variables', 'stop_service']);
    const toolResults = result.messages.filter((message) => message.role === 'tool').map((message) => JSON.parse(message.content) as { result: string });
    expect(toolResults.every((entry) => entry.result === 'success')).toBe(true);
    expect(result.aicall).toMatchObject({ status: 'terminated' });
  });

  it('leaves the variables the AI set on the activeflow, and the flow goes on after ai_talk', (context) => {
    if (!result) return context.skip(`the demo needs ${missing.join(', ')}`);
    expect(result.activeflow).toMatchObject({ status: 'ended', end_reason: 'hangup action' });
    const variables = result.activeflow.variables as Record<string, string>;
    expect(variables.caller_name?.toLowerCase()).toBe('alice');
    expect(variables.appointment_day?.toLowerCase()).toBe('tuesday morning');
    expect(result.flowTalkStartedAtMs).toBeGreaterThan(0);
    expect(result.flowTalkHeard).toBe(true);
  });

  it('prints the conversation with latencies as it happens', (context) => {
    if (!result) return context.skip(`the demo needs ${missing.join(', ')}`);
    const text = printed.join('\n');
    expect(text).toMatch(/\] AI: Hello, this is the Riverside dental clinic/);
    expect(text).toMatch(/\] Caller: Alice/);
    expect(text).toMatch(/\] AI heard: "alice"/i);
    expect(text).toMatch(/\] tool call: set_variables \{"variables":\{"caller_name":"alice","appointment_day":"tuesday morning"\}\}/i);
    expect(text).toMatch(/\] flow: talk "Thanks alice, your appointment request for tuesday morning is saved/i);
    expect(text).toMatch(/first audio \d+ ms after the end of the caller's speech/);
    expect(text).toMatch(/end of turn decided after \d+ ms/);
    expect(result.turnLatencies.length).toBeGreaterThanOrEqual(3);
    expect(result.responseLatenciesMs).toHaveLength(demoCallerLines.length);
    expect(text).toContain(result.wavPath);
  });

  it('then holds a short SMS conversation through an SMS channel, printed as it happens', (context) => {
    if (!result) return context.skip(`the demo needs ${missing.join(', ')}`);
    expect(result.sms.exchange).toEqual([
      { direction: 'in', text: demoSmsLines[0] },
      { direction: 'out', text: 'Hi! This is the offline assistant, answering by SMS. What is your name?' },
      { direction: 'in', text: demoSmsLines[1] },
      { direction: 'out', text: 'Thanks, Ada, I saved your name. Text me anything; text BYE to end.' },
      { direction: 'in', text: demoSmsLines[2] },
      { direction: 'out', text: `You wrote: ${demoSmsLines[2]}` },
      { direction: 'in', text: demoSmsLines[3] },
      { direction: 'out', text: 'Goodbye, Ada!' },
    ]);
    // One AIcall served the conversation, and stop_service ended it.
    expect(result.sms.aicallIds).toHaveLength(1);
    const text = printed.join('\n');
    expect(text).toMatch(/\[sms +[\d.]+ s\] \+15550142 -> AI: Ada/);
    expect(text).toMatch(/\[sms +[\d.]+ s\] AI -> \+15550142: Goodbye, Ada!/);
    expect(text).toMatch(/one AIcall served it: [0-9a-f-]+ \(terminated\)/);
  });

  it("prints the call's summary, written offline from the transcription of both sides", (context) => {
    if (!result) return context.skip(`the demo needs ${missing.join(', ')}`);
    expect(result.summary.status).toBe('done');
    const summary = result.summary.content.toLowerCase();
    for (const section of ['call type', 'key discussion points', 'decisions', 'action items', 'additional notes']) expect(summary).toContain(section);
    // What the caller said, and what the AI answered, from the call's audio.
    expect(summary).toMatch(/caller: (alice|tuesday morning)/);
    expect(summary).toMatch(/agent: .*riverside dental clinic/);
    expect(summary).toContain('appointment_day');
    expect(printed.join('\n')).toMatch(/AI summary [0-9a-f-]+ \(GET \/v1\.0\/aisummaries\/[0-9a-f-]+\): done/);
  });

  it('writes both directions of the call to a stereo WAV', async (context) => {
    if (!result) return context.skip(`the demo needs ${missing.join(', ')}`);
    const wav = await readFile(result.wavPath);
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt16LE(22)).toBe(2); // channels
    expect(wav.readUInt32LE(24)).toBe(16_000);
    const seconds = (wav.length - 44) / 4 / 16_000;
    expect(seconds).toBeGreaterThan(10);
    expect(seconds).toBeLessThan(90);
    expect(result.wavSeconds).toBeCloseTo(seconds, 1);
    // Left: the caller's two answers (about a second each); right: the AI and the flow's talk.
    expect(activeSeconds(wav, 0)).toBeGreaterThan(0.5);
    expect(activeSeconds(wav, 0)).toBeLessThan(5);
    expect(activeSeconds(wav, 1)).toBeGreaterThan(5);
  });
});
