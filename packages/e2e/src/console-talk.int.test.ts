import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildWav, resampleClip, synthesizeWithEspeak } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchBrowser, type TestBrowser } from './testing/browser.ts';
import { describeModes, scriptedAi, useStack, type Api, type StackMode } from './testing/stack.ts';

const unavailable = browserUnavailable();
if (unavailable && process.env.CI === 'true') throw new Error(`the console's browser tests must run in CI: ${unavailable}`);

/** The AI the page talks to (offline scripted engine): greets, asks a name, answers with it. */
const script = {
  script: [
    { say: 'Hello from the web. What is your name?' },
    { wait: 'answer', into: 'name' },
    { say: 'Nice to meet you, ${name}.' },
    { wait: 'answer', into: 'more' },
    { say: 'Goodbye.' },
  ],
};
const sampleRate = 16_000;

/**
 * What Chromium's fake microphone plays (it loops the file): 5 s of silence while the session
 * starts and the AI greets, "alice" spoken by espeak-ng, then 10 s of silence.
 */
async function microphoneWav(directory: string): Promise<string> {
  const alice = (await resampleClip(await synthesizeWithEspeak('alice', { voice: 'en-us', wordsPerMinute: 150 }), sampleRate)).samples;
  const samples = new Int16Array(sampleRate * 15 + alice.length);
  samples.set(alice, sampleRate * 5);
  const file = path.join(directory, 'microphone.wav');
  await writeFile(file, buildWav({ sampleRate, samples }));
  return file;
}

/**
 * The console's Talk page in headless Chromium with a fake microphone (a WAV file), on both run
 * modes: sign in, pick an offline scripted AI, start with the keyboard, hear the greeting (the
 * page's AudioWorklet player reports what it played), see the caller's name recognised and the
 * AI's answer in the transcript, stop; the AIcall ends. Screenshot: test-artifacts/console-talk.png.
 */
function talkTests(mode: StackMode): void {
  const stack = useStack({ mode, name: 'console-talk' });
  const api: Api = (...args) => stack.api(...args);
  let browser: TestBrowser;
  let directory: string;
  let base: string;

  beforeAll(async () => {
    base = `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;
    directory = await mkdtemp(path.join(tmpdir(), 'avp-talk-'));
    const wav = await microphoneWav(directory);
    browser = await launchBrowser([
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
      '--autoplay-policy=no-user-gesture-required',
    ]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('talks with an AI through the microphone: greeting heard, the name recognised, the answer shown; Stop ends the AIcall', async () => {
    const ai = await api('POST', '/v1.0/ais', scriptedAi(script, { name: 'Web receptionist', stt_type: 'local', parameter: { stt_phrases: ['alice', 'goodbye'] } }));
    const { page } = browser;
    await page.goto(`${base}/console`);
    await page.fill('#access-key', stack.key);
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'Talk' }).click();
    await page.locator(`#talk-ai option[value="${String(ai.id)}"]`).waitFor({ state: 'attached' });
    await page.selectOption('#talk-ai', String(ai.id));
    // Keyboard only: the Start button is reached and pressed without the mouse.
    await page.focus('#talk-ai');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('talk-start');
    await page.keyboard.press('Enter');
    await page.locator('#talk-status[data-state="listening"]').waitFor({ timeout: 20_000 });
    const aicallId = await page.locator('section[data-page="talk"]').getAttribute('data-aicall-id');
    expect(aicallId).toMatch(/^[0-9a-f-]{36}$/);

    // The greeting is played: the page's player reports more than a second of audible output.
    const output = page.locator('#talk-output');
    await eventually(
      async () => Number(await output.getAttribute('data-played-samples')) > sampleRate && Number(await output.getAttribute('data-peak-rms')) > 0.02,
      'the greeting played',
      20_000,
      100,
    );
    const transcript = page.locator('#talk-transcript');
    await transcript.locator('.message.role-assistant', { hasText: 'Hello from the web' }).waitFor({ timeout: 20_000 });
    await transcript.locator('.message.role-user', { hasText: 'alice' }).waitFor({ timeout: 30_000 });
    await transcript.locator('.message.role-assistant', { hasText: 'Nice to meet you, alice.' }).waitFor({ timeout: 20_000 });
    await browser.screenshot(mode === 'embedded' ? 'console-talk' : `console-talk-${mode}`);

    await page.click('#talk-stop');
    await page.locator('#talk-status[data-state="ended"]').waitFor();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall terminated', 20_000, 100);
    const stored = (await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)).result as { role: string; content: string }[];
    expect(stored.filter((message) => message.role === 'user').map((message) => message.content)).toContain('alice');
    expect(browser.errors).toEqual([]);
  }, 120_000);
}

if (unavailable) describe.skip(`console: Talk in headless Chromium [skipped: ${unavailable}]`, () => it('needs Chromium', () => undefined));
else await describeModes('console: Talk (a web session from the browser)', talkTests);
