import type { AddressInfo } from 'node:net';
import { registryProviders } from '@avp/pipeline-manager';
import { eventually } from '@avp/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchBrowser, type TestBrowser } from './testing/browser.ts';
import { describeModes, useStack, type Api, type StackMode } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

const unavailable = browserUnavailable();
if (unavailable && process.env.CI === 'true') throw new Error(`the console's browser tests must run in CI: ${unavailable}`);

/** The console's AI (offline scripted engine): greets, asks a name, stores it with a tool, answers. */
const script = {
  script: [
    { say: 'Hello, this is the offline assistant. What is your name?' },
    { wait: 'answer', into: 'name' },
    { tool: 'set_variables', arguments: { variables: { caller_name: '${name}' } } },
    { say: 'Nice to meet you, ${name}. Goodbye.' },
    { end: true },
  ],
};

/**
 * The web console (`/console`) in a real headless Chromium against the three services and the
 * Asterisk simulator, in both run modes: sign-in, an AI created through a validation error, a
 * flow edited as JSON and a number bound to it, a knowledge base's document, a live call with
 * its transcript, tool calls and latency chart, a message sent into a call and a call hung up
 * from the console, and the history. Every request the page makes is the public API's. A
 * screenshot of each page goes to packages/e2e/test-artifacts/ (`-cluster` for that mode's).
 */
function consoleTests(mode: StackMode): void {
  const stack = useStack({
    mode,
    name: 'console',
    pipelineManager: { createVad: async () => loudnessVad(), providers: { ...registryProviders, stt: () => scriptedStt(['Ada']) } },
  });
  const api: Api = (...args) => stack.api(...args);
  let browser: TestBrowser;
  let base: string;
  let aiId: string;
  let number: string;

  beforeAll(async () => {
    base = `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  const screenshot = (name: string) => browser.screenshot(mode === 'embedded' ? name : `${name}-${mode}`);

  it('signs in with an access key, refusing a wrong one', async () => {
    const { page } = browser;
    await page.goto(`${base}/console`);
    await page.locator('#access-key').waitFor();
    await screenshot('console-sign-in');
    // The console is no part of the API: not in its OpenAPI document.
    expect(Object.keys(((await (await fetch(`${base}/v1.0/docs/json`)).json()) as { paths: object }).paths).filter((path) => path.startsWith('/console'))).toEqual([]);
    await page.fill('#access-key', 'avp_not-a-key');
    await page.keyboard.press('Enter');
    await page.getByText('This access key is not valid.').waitFor();
    await page.fill('#access-key', stack.key);
    await page.keyboard.press('Enter');
    await page.locator('nav a[aria-current="page"]', { hasText: 'AIs' }).waitFor();
    // The key is kept for this tab only.
    expect(await page.evaluate('sessionStorage.length')).toBe(1);
    expect(await page.evaluate('localStorage.length')).toBe(0);
  }, 30_000);

  it('creates an AI, showing the API\'s validation error on its field until it is fixed; the engine key stays write-only', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'New AI' }).click();
    await page.fill('#field-name', 'Console receptionist');
    await page.fill('#field-engine_model', 'scripted');
    await page.fill('#field-engine_key', 'sk-console-secret');
    await page.fill('#field-init_prompt', JSON.stringify(script));
    await page.fill('#field-tool_names', 'set_variables');
    await page.fill('#field-tts_type', 'local');
    await page.fill('#field-stt_language', 'en-US');
    await page.getByRole('button', { name: 'Create' }).click();
    const fieldError = page.locator('#field-engine_model-error');
    await fieldError.filter({ hasText: /\S/ }).waitFor();
    expect(await page.getAttribute('#field-engine_model', 'aria-invalid')).toBe('true');
    expect(await page.locator('#field-name-error').textContent()).toBe('');
    await screenshot('console-ai-validation-error');

    await page.fill('#field-engine_model', 'local.scripted');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByText('Created AI Console receptionist.').waitFor();
    const ais = (await api('GET', '/v1.0/ais')).result as { id: string; name: string; engine_model: string; engine_key_set: boolean }[];
    expect(ais).toHaveLength(1);
    expect(ais[0]).toMatchObject({ name: 'Console receptionist', engine_model: 'local.scripted', engine_key_set: true, tool_names: ['set_variables'] });
    aiId = ais[0]!.id;
    const row = page.locator(`tr[data-id="${aiId}"]`);
    expect(await row.locator('.badge').textContent()).toBe('set');
    expect(await page.content()).not.toContain('sk-console-secret');
    await screenshot('console-ais');
  }, 30_000);

  it('creates a flow in the JSON editor through the API\'s validation, edits it, and binds a number to it', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Flows' }).click();
    await page.getByRole('button', { name: 'New flow' }).click();
    await page.fill('#json-editor', '{"name": "Console flow", "actions": [');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('#json-editor-error', { hasText: 'Not valid JSON' }).waitFor();
    await page.fill('#json-editor', JSON.stringify({ name: 'Console flow', actions: [{ type: 'answer' }, { type: 'talk', option: {} }] }));
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('#json-editor-error', { hasText: 'talk' }).waitFor();
    expect((await api('GET', '/v1.0/flows')).result).toHaveLength(0);

    const actions = [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'hangup' }];
    await page.fill('#json-editor', JSON.stringify({ name: 'Console flow', actions }));
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByText(/^Created flow /).waitFor();
    const flowId = ((await api('GET', '/v1.0/flows')).result as { id: string }[])[0]!.id;

    await page.locator(`tr[data-id="${flowId}"]`).getByRole('button', { name: 'Edit' }).click();
    const edited = JSON.parse(await page.inputValue('#json-editor')) as { name: string; actions: unknown[] };
    expect(edited.actions).toHaveLength(3);
    await page.fill('#json-editor', JSON.stringify({ ...edited, name: 'Console flow, edited' }));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText(`Saved flow ${flowId}.`).waitFor();
    expect(await api('GET', `/v1.0/flows/${flowId}`)).toMatchObject({ name: 'Console flow, edited' });
    await screenshot('console-flows');

    number = `+1555${String(Date.now()).slice(-7)}`;
    await page.getByRole('link', { name: 'Numbers' }).click();
    await page.getByRole('button', { name: 'New number' }).click();
    await page.fill('#json-editor', JSON.stringify({ number, call_flow_id: flowId, message_flow_id: null }));
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByText(/^Created number /).waitFor();
    await page.locator('td', { hasText: 'Console flow, edited' }).waitFor();
    await screenshot('console-numbers');
  }, 30_000);

  it('creates a knowledge base and adds a document to it, with the API\'s validation on the document\'s fields', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Knowledge bases' }).click();
    await page.getByRole('button', { name: 'New knowledge base' }).click();
    await page.fill('#json-editor', JSON.stringify({ name: 'Clinic facts', detail: '', language: 'en-US' }));
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByText(/^Created knowledge base /).waitFor();
    const knowledgebaseId = ((await api('GET', '/v1.0/knowledgebases')).result as { id: string }[])[0]!.id;
    await page.locator(`tr[data-id="${knowledgebaseId}"]`).getByRole('button', { name: 'Documents' }).click();
    await page.getByText('No documents yet.').waitFor();
    await page.fill('#field-name', 'Opening hours');
    await page.getByRole('button', { name: 'Add document' }).click();
    await page.locator('#field-content-error').filter({ hasText: /\S/ }).waitFor();
    await page.fill('#field-content', 'The clinic is open from 8 am to 6 pm on weekdays.');
    await page.getByRole('button', { name: 'Add document' }).click();
    await page.locator('tbody tr', { hasText: 'Opening hours' }).waitFor();
    const documents = (await api('GET', `/v1.0/knowledgebases/${knowledgebaseId}/documents`)).result as { name: string }[];
    expect(documents.map((document) => document.name)).toEqual(['Opening hours']);
    await screenshot('console-knowledgebases');
  }, 30_000);

  it('shows a live call as it starts, with its transcript, tool calls and each turn\'s latency chart', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Live calls' }).click();
    await page.locator('#live-connection[data-state="connected"]').waitFor();

    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15558880100' });
    const card = page.locator('article.live-call');
    await card.waitFor({ timeout: 20_000 });
    await card.locator('.message.role-assistant', { hasText: 'Hello, this is the offline assistant' }).waitFor({ timeout: 20_000 });
    const greetingChart = card.locator('svg.latency-chart').first();
    expect(await greetingChart.getAttribute('aria-label')).toMatch(/^Turn 1 latency: .*First audio \d+ ms/);

    await caller.waitForSilence(20_000);
    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    await card.locator('.message.role-user', { hasText: 'Ada' }).waitFor({ timeout: 20_000 });
    await card.locator('.tool-call', { hasText: 'tool call: set_variables {"variables":{"caller_name":"Ada"}}' }).waitFor({ timeout: 20_000 });
    await card.locator('.message.role-tool', { hasText: 'success: Saved caller_name.' }).waitFor();
    await card.locator('.message.role-assistant', { hasText: 'Nice to meet you, Ada' }).waitFor({ timeout: 20_000 });
    const answerChart = card.locator('svg.latency-chart[data-turn="Turn 2"]');
    await answerChart.waitFor();
    // The answer's waterfall shows the figures the API stored for its turn: the end-of-turn
    // wait, STT final, LLM first token, TTS first byte, and the first audio.
    const stored = (await api('GET', `/v1.0/aimessages?aicall_id=${await card.getAttribute('data-aicall-id')}`)).result as { content: string; latency: Record<string, number> | null }[];
    const latency = stored.find((message) => message.content.startsWith('Nice to meet you'))!.latency!;
    expect(latency.first_audio_ms).toBeGreaterThan(0);
    expect(latency.end_of_turn_ms).toBeGreaterThanOrEqual(0);
    const parts = [['end_of_turn_ms', 'End-of-turn wait'], ['stt_final_ms', 'STT final'], ['llm_first_token_ms', 'LLM first token'], ['tts_first_byte_ms', 'TTS first byte'], ['first_audio_ms', 'First audio']] as const;
    const expected = parts.flatMap(([key, label]) => (latency[key] === undefined ? [] : [`${label} ${Math.round(latency[key])} ms`]));
    expect(await answerChart.getAttribute('aria-label')).toBe(`Turn 2 latency: ${expected.join(', ')}`);
    expect(Number(await answerChart.locator('rect.latency-first_audio').getAttribute('data-ms'))).toBe(Math.round(latency.first_audio_ms!));
    await screenshot('console-live');
    // The caller hangs up: the AIcall's end reaches the page as an event.
    caller.hangup();
    await card.locator('.status', { hasText: 'terminated' }).waitFor({ timeout: 20_000 });
    expect(await card.getByRole('button', { name: 'Hang up' }).isDisabled()).toBe(true);
  }, 90_000);

  it('sends a message into a live call, which the AI answers by voice, and hangs the call up with its button', async () => {
    const { page } = browser;
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15558880101' });
    const card = page.locator('article.live-call:not(.ended)');
    await card.locator('.message.role-assistant').first().waitFor({ timeout: 20_000 });
    const aicallId = String(await card.getAttribute('data-aicall-id'));
    // What the caller hears is transcribed too (the recogniser double hears "Ada" in the AI's
    // next sentence): the history shows it.
    const callId = (await api('GET', `/v1.0/aicalls/${aicallId}`)).reference_id as string;
    const transcribe = await api('POST', '/v1.0/transcribes', { reference_type: 'call', reference_id: callId, direction: 'out', language: 'en-US' });

    // A message within 3 s of the session's last change is refused (429 SEND_COOLDOWN): the page
    // says so and keeps the text, and sending again later goes through.
    await card.getByLabel('Message').fill('Grace');
    await eventually(
      async () => {
        if ((await card.getByLabel('Message').inputValue()) === '') return true;
        await card.getByRole('button', { name: 'Send' }).click();
        await page.waitForTimeout(500);
        return (await card.getByLabel('Message').inputValue()) === '';
      },
      'the message to be taken',
      20_000,
    );
    await card.locator('.message.role-user', { hasText: 'Grace' }).waitFor({ timeout: 20_000 });
    await card.locator('.message.role-assistant', { hasText: 'Nice to meet you, Grace' }).waitFor({ timeout: 20_000 });
    await eventually(async () => ((await api('GET', `/v1.0/transcripts?transcribe_id=${transcribe.id as string}`)).result as unknown[]).length > 0, 'the answer to be transcribed', 10_000);
    await card.getByRole('button', { name: 'Hang up' }).click();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
    await page.locator(`article[data-aicall-id="${aicallId}"] .status`, { hasText: 'terminated' }).waitFor({ timeout: 20_000 });
    await eventually(() => caller.ended, 'the flow to hang the call up after ai_talk', 20_000);
  }, 60_000);

  it('shows a past AIcall\'s conversation and cost, and another\'s transcription, in the history, with no script or policy error on the way', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('tbody tr').first().waitFor();
    expect(await page.locator('tbody tr').count()).toBe(2);
    await page.locator('tbody tr').last().getByRole('button', { name: 'Open' }).click();
    await page.locator('#history-title').waitFor();
    await page.locator('.transcript .message.role-user', { hasText: 'Ada' }).waitFor();
    await page.getByText(/Cost: \d+ micro-units/).waitFor();
    await screenshot('console-history');
    // The newer call's transcription of what its caller heard.
    await page.locator('tbody tr').first().getByRole('button', { name: 'Open' }).click();
    await page.locator('.transcription-section h3', { hasText: 'Transcription of the call (out, done)' }).waitFor();
    await page.locator('.transcription li', { hasText: 'Heard by the caller: Ada' }).waitFor();
    await screenshot('console-history-transcription');
    expect(browser.errors).toEqual([]);
  }, 30_000);
}

if (unavailable) {
  describe.skip(`the web console in headless Chromium [skipped: ${unavailable}]`, () => {
    it('needs Chromium', () => undefined);
  });
} else {
  await describeModes('the web console in headless Chromium', consoleTests);
}
