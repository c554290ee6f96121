import { randomUUID } from 'node:crypto';
import { createDatabase, rpcCall, type Database, type Subscription } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, eventually, startHarness, type Harness } from '../testing/harness.ts';

interface PipelineStartRequest {
  aicall_id: string;
  ai: { tts_type: string; tts_voice_id: string };
  tools: { name: string }[];
}

/**
 * Starting a session (flow-manager's `ai_talk`) with stand-ins for flow-manager and
 * pipeline-manager on the bus: what ai-manager asks pipeline-manager for, that is the voice
 * it chose and the tools it offers.
 */
describe('session start: the ElevenLabs voice and the messaging tools offered', () => {
  let test: TestPgliteDatabase;
  let database: Database;
  let harness: Harness;
  let customer: { id: string; key: string };
  const subscriptions: Subscription[] = [];
  const starts: PipelineStartRequest[] = [];
  /** The activeflow variables flow-manager answers with. */
  let flowVariables: Record<string, string> = {};
  let variableReads = 0;

  beforeAll(async () => {
    test = await createTestPgliteDatabase();
    database = await createDatabase(test.options);
    harness = await startHarness(database, {
      email: { url: 'smtp://127.0.0.1:1', from: 'ai@acme.example' },
      sms: { apiUrl: 'http://127.0.0.1:1', accountSid: 'AC1', authToken: 'token', from: '+15550001111' },
    });
    customer = await createTestCustomer(harness, 'voices');
    subscriptions.push(
      await harness.bus.serve('pipeline-manager', async (request) => {
        if (request.method === 'POST' && request.uri === '/v1/pipelines') {
          starts.push(request.data as PipelineStartRequest);
          return { status_code: 200, data: { pipeline_id: randomUUID(), instance_id: 'fake-pipeline-manager' } };
        }
        return { status_code: 200, data: {} };
      }),
      await harness.bus.serve('flow-manager', async (request) => {
        if (request.method === 'GET' && request.uri.startsWith('/v1/variables/')) {
          variableReads++;
          return { status_code: 200, data: { variables: flowVariables } };
        }
        return { status_code: 200, data: {} };
      }),
    );
  });

  afterAll(async () => {
    for (const subscription of subscriptions) await subscription.close();
    await harness?.stop();
    await database?.close();
    await test?.drop();
  });

  beforeEach(() => {
    flowVariables = {};
    variableReads = 0;
  });

  async function start(ai: Record<string, unknown>): Promise<PipelineStartRequest> {
    const created = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody(ai) });
    expect(created.status).toBe(200);
    const answer = await rpcCall<{ id: string; push_actions: unknown[] }>(harness.bus, 'ai-manager', 'POST', '/v1/services/type/aicall', {
      customer_id: customer.id,
      activeflow_id: randomUUID(),
      assistance_type: 'ai',
      assistance_id: created.body.id,
      reference_type: 'call',
      reference_id: randomUUID(),
    });
    expect(answer.push_actions).toHaveLength(1); // started, not refused
    return eventually(() => starts.find((entry) => entry.aicall_id === answer.id));
  }

  it('chooses the voice of the language and the gender in the AI parameter', async () => {
    const request = await start({ tts_type: 'elevenlabs', tts_voice_id: '', stt_language: 'ko-KR', parameter: { voice_gender: 'male' } });
    expect(request.ai).toMatchObject({ tts_type: 'elevenlabs', tts_voice_id: 'nbrxrAz3eYm9NgojrmFK' });
  });

  it('lets the flow variables set the gender and override the voice, reading them once', async () => {
    flowVariables = { 'voipbin.tts.voice_gender': 'female' };
    expect((await start({ tts_type: 'elevenlabs', tts_voice_id: '', stt_language: 'ja-JP', parameter: { voice_gender: 'male' } })).ai.tts_voice_id).toBe(
      'PmgfHCGeS5b7sH90BOOJ',
    );
    expect(variableReads).toBe(1); // the init_prompt's placeholders and the voice share one read
    flowVariables = { 'voipbin.tts.elevenlabs.voice_id': 'CustomVoice000000001' };
    expect((await start({ tts_type: 'elevenlabs', tts_voice_id: '', stt_language: 'ja-JP' })).ai.tts_voice_id).toBe('CustomVoice000000001');
  });

  it("keeps the AI's own voice id, and other TTS types untouched", async () => {
    flowVariables = { 'voipbin.tts.elevenlabs.voice_id': 'CustomVoice000000001' };
    expect((await start({ tts_type: 'elevenlabs', tts_voice_id: 'my-own-voice', stt_language: 'ko-KR' })).ai.tts_voice_id).toBe('my-own-voice');
    expect((await start({ tts_type: 'deepgram', tts_voice_id: '', stt_language: 'ko-KR' })).ai.tts_voice_id).toBe('');
  });

  it('offers send_email and send_message when they are configured', async () => {
    const request = await start({ tool_names: ['send_email', 'send_message', 'stop_service'] });
    expect(request.tools.map((tool) => tool.name).sort()).toEqual(['send_email', 'send_message', 'stop_service']);
    const email = request.tools.find((tool) => tool.name === 'send_email') as unknown as { parameters: { required: string[] } };
    expect(email.parameters.required).toEqual(['destinations', 'subject', 'content']);
  });
});

describe('session start without SMTP or an SMS provider', () => {
  it('does not offer send_email or send_message', async () => {
    const test = await createTestPgliteDatabase();
    const database = await createDatabase(test.options);
    const harness = await startHarness(database);
    const starts: PipelineStartRequest[] = [];
    const fake = await harness.bus.serve('pipeline-manager', async (request) => {
      if (request.uri === '/v1/pipelines') starts.push(request.data as PipelineStartRequest);
      return { status_code: 200, data: { pipeline_id: randomUUID(), instance_id: 'fake-pipeline-manager' } };
    });
    try {
      const customer = await createTestCustomer(harness, 'no-messaging');
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ tool_names: ['all'] }) });
      await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/services/type/aicall', {
        customer_id: customer.id,
        assistance_type: 'ai',
        assistance_id: ai.body.id,
        reference_type: 'call',
        reference_id: randomUUID(),
      });
      const request = await eventually(() => starts[0]);
      const names = request.tools.map((tool) => tool.name);
      expect(names).toContain('stop_service');
      expect(names).not.toContain('send_email');
      expect(names).not.toContain('send_message');
    } finally {
      await fake.close();
      await harness.stop();
      await database.close();
      await test.drop();
    }
  });
});
