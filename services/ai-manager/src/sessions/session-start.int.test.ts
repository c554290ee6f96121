import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call } from '../testing/harness.ts';
import { startSessionStandIns, type SessionStandIns } from '../testing/session-stand-ins.ts';

/**
 * Starting a session (flow-manager's `ai_talk`) with stand-ins for flow-manager and
 * pipeline-manager on the bus: what ai-manager asks pipeline-manager for, that is the voice
 * it chose and the tools it offers.
 */
describe('session start: the ElevenLabs voice and the tools offered', () => {
  let session: SessionStandIns;

  beforeAll(async () => {
    session = await startSessionStandIns('voices', {
      email: { url: 'smtp://127.0.0.1:1', from: 'ai@acme.example' },
      sms: { apiUrl: 'http://127.0.0.1:1', accountSid: 'AC1', authToken: 'token', from: '+15550001111' },
    });
  });

  afterAll(async () => {
    await session?.stop();
  });

  beforeEach(() => {
    session.flowVariables = {};
    session.variableReads = 0;
  });

  it('chooses the voice of the language and the gender in the AI parameter', async () => {
    const request = await session.start({ tts_type: 'elevenlabs', tts_voice_id: '', stt_language: 'ko-KR', parameter: { voice_gender: 'male' } });
    expect(request.ai).toMatchObject({ tts_type: 'elevenlabs', tts_voice_id: 'nbrxrAz3eYm9NgojrmFK' });
  });

  it('lets the flow variables set the gender and override the voice, reading them once', async () => {
    session.flowVariables = { 'voipbin.tts.voice_gender': 'female' };
    expect((await session.start({ tts_type: 'elevenlabs', tts_voice_id: '', stt_language: 'ja-JP', parameter: { voice_gender: 'male' } })).ai.tts_voice_id).toBe(
      'PmgfHCGeS5b7sH90BOOJ',
    );
    expect(session.variableReads).toBe(1); // the init_prompt's placeholders and the voice share one read
    session.flowVariables = { 'voipbin.tts.elevenlabs.voice_id': 'CustomVoice000000001' };
    expect((await session.start({ tts_type: 'elevenlabs', tts_voice_id: '', stt_language: 'ja-JP' })).ai.tts_voice_id).toBe('CustomVoice000000001');
  });

  it("keeps the AI's own voice id, and picks none for other TTS engines", async () => {
    session.flowVariables = { 'voipbin.tts.elevenlabs.voice_id': 'CustomVoice000000001' };
    expect((await session.start({ tts_type: 'elevenlabs', tts_voice_id: 'my-own-voice', stt_language: 'ko-KR' })).ai.tts_voice_id).toBe('my-own-voice');
    expect((await session.start({ tts_type: 'deepgram', tts_voice_id: '', stt_language: 'ko-KR' })).ai.tts_voice_id).toBe('');
  });

  it('offers send_email and send_message when they are configured', async () => {
    const request = await session.start({ tool_names: ['send_email', 'send_message', 'stop_service'] });
    expect(request.tools.map((tool) => tool.name).sort()).toEqual(['send_email', 'send_message', 'stop_service']);
    const email = request.tools.find((tool) => tool.name === 'send_email');
    expect(email?.parameters.required).toEqual(['destinations', 'subject', 'content']);
  });

  it('offers search_knowledge only to an AI with a knowledge base, with its parameters', async () => {
    const without = (await session.start({ tool_names: ['all'] })).tools;
    expect(without.map((tool) => tool.name)).not.toContain('search_knowledge');
    expect(without.map((tool) => tool.name)).toContain('stop_service');

    const knowledgebase = await call(session.harness, 'POST', '/v1.0/knowledgebases', { key: session.customer.key, body: { name: 'help' } });
    const withKnowledge = (await session.start({ tool_names: ['search_knowledge', 'stop_service'], knowledgebase_ids: [knowledgebase.body.id] })).tools;
    expect(withKnowledge.map((tool) => tool.name).sort()).toEqual(['search_knowledge', 'stop_service']);
    expect(withKnowledge.find((tool) => tool.name === 'search_knowledge')?.parameters.required).toEqual(['query']);
  });
});

describe('session start without SMTP or an SMS provider', () => {
  let session: SessionStandIns;

  beforeAll(async () => {
    session = await startSessionStandIns('no-messaging');
  });

  afterAll(async () => {
    await session?.stop();
  });

  it('does not offer send_email or send_message', async () => {
    const names = (await session.start({ tool_names: ['all'] })).tools.map((tool) => tool.name);
    expect(names).toContain('stop_service');
    expect(names).not.toContain('send_email');
    expect(names).not.toContain('send_message');
  });
});
