import { describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer } from '../harness.ts';
import type { GetContext } from './context.ts';

/** Each rule: a body change and the field the 400 must name (shared with the inline AI suite: inline settings follow the same rules). */
export const invalidAis: [string, Record<string, unknown>, string][] = [
  ['an engine_model without a provider prefix', { engine_model: 'gpt-4o' }, 'engine_model'],
  ['an engine_model with an unknown provider', { engine_model: 'dialogflow.x' }, 'engine_model'],
  ['an engine_model with nothing after the dot', { engine_model: 'openai.' }, 'engine_model'],
  ['a missing engine_model', { engine_model: undefined }, 'engine_model'],
  ['an unknown tts_type', { tts_type: 'speakomatic' }, 'tts_type'],
  ['an unknown stt_type', { stt_type: 'whisper-x' }, 'stt_type'],
  // VoIPBIN's names with no engine here: refused at save, not accepted to fail on a call.
  ['a tts_type with no engine here', { tts_type: 'piper' }, 'supported: aws, azure, cartesia, deepgram, elevenlabs, google, openai, local'],
  ['an stt_type with no engine here', { stt_type: 'google' }, 'supported: cartesia, deepgram, elevenlabs, local'],
  ['a fallback_tts_type with no engine here', { fallback_tts_type: 'fish' }, 'fallback_tts_type'],
  ['a local engine that does not exist', { engine_model: 'local.some-model' }, 'local.scripted'],
  ['a malformed stt_language', { stt_language: 'english!' }, 'stt_language'],
  ['an stt_language with a bad region', { stt_language: 'en-USA1' }, 'stt_language'],
  ['"all" combined with other tools', { tool_names: ['all', 'send_email'] }, 'tool_names'],
  ['an unknown tool', { tool_names: ['launch_rockets'] }, 'tool_names'],
  ['a repeated tool', { tool_names: ['send_email', 'send_email'] }, 'tool_names'],
  ['vad confidence above 1', { vad_config: { confidence: 1.5 } }, 'vad_config.confidence'],
  ['vad start_secs above 30', { vad_config: { start_secs: 31 } }, 'vad_config.start_secs'],
  ['negative vad stop_secs', { vad_config: { stop_secs: -1 } }, 'vad_config.stop_secs'],
  ['vad min_volume above 1', { vad_config: { min_volume: 2 } }, 'vad_config.min_volume'],
  ['an unknown vad field', { vad_config: { loudness: 1 } }, 'vad_config'],
  ['an end_of_turn stop below 0.05 s', { turn_config: { end_of_turn: { complete_stop_secs: 0 } } }, 'turn_config.end_of_turn.complete_stop_secs'],
  [
    'an end_of_turn complete stop longer than the incomplete one',
    { turn_config: { end_of_turn: { complete_stop_secs: 2, incomplete_stop_secs: 1 } } },
    'turn_config.end_of_turn.complete_stop_secs',
  ],
  ['an unknown end_of_turn field', { turn_config: { end_of_turn: { patience: 1 } } }, 'turn_config.end_of_turn'],
  ['an unknown turn_config part', { turn_config: { mood: {} } }, 'turn_config'],
  ['an interruption min_secs above 5', { turn_config: { interruption: { min_secs: 6 } } }, 'turn_config.interruption.min_secs'],
  ['a fractional interruption min_words', { turn_config: { interruption: { min_words: 1.5 } } }, 'turn_config.interruption.min_words'],
  ['a blank backchannel word', { turn_config: { interruption: { backchannel_words: ['mhm', ' '] } } }, 'turn_config.interruption.backchannel_words'],
  ['an interruption echo margin above 60 dB', { turn_config: { interruption: { echo_margin_db: 61 } } }, 'turn_config.interruption.echo_margin_db'],
  ['an unknown interruption field', { turn_config: { interruption: { patience: 1 } } }, 'turn_config.interruption'],
  ['a negative no_input_timeout', { no_input_timeout: -1 }, 'no_input_timeout'],
  ['a no_input_timeout under 1 s that is not 0', { no_input_timeout: 0.5 }, 'no_input_timeout'],
  ['a no_input_timeout above 600 s', { no_input_timeout: 601 }, 'no_input_timeout'],
  ['a no_input_timeout as a string', { no_input_timeout: '5' }, 'no_input_timeout'],
  ['a no_input_max of 0', { no_input_max: 0 }, 'no_input_max'],
  ['a no_input_max above 10', { no_input_max: 11 }, 'no_input_max'],
  ['a fractional no_input_max', { no_input_max: 1.5 }, 'no_input_max'],
  ['a name of the wrong type', { name: 42 }, 'name'],
  ['a parameter that is not an object', { parameter: [1, 2] }, 'parameter'],
  ['smart_turn_enabled as a string', { smart_turn_enabled: 'yes' }, 'smart_turn_enabled'],
  ['an unknown field', { colour: 'blue' }, 'colour'],
];

/** Every validation rule of an AI, and malformed requests of every kind. */
export function validationSuite(get: GetContext): void {
  describe('validation', () => {
    it.each(invalidAis)('rejects %s with 400 naming the field', async (_name, change, field) => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const body = aiBody(change);
      for (const [name, value] of Object.entries(change)) if (value === undefined) delete body[name];
      const created = await call(harness, 'POST', '/v1.0/ais', { key, body });
      expect(created.status).toBe(400);
      expect(created.body.error).toMatchObject({ status: 'INVALID_ARGUMENT', reason: 'VALIDATION_FAILED' });
      expect(created.body.error.message).toContain(field);
      // The same rules guard PUT.
      const valid = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      const replaced = await call(harness, 'PUT', `/v1.0/ais/${valid.body.id}`, { key, body });
      expect(replaced.status).toBe(400);
      expect(replaced.body.error.message).toContain(field);
    });

    it.each([['en'], ['ko-KR'], ['zh-Hant-TW'], ['es-419'], ['']])('accepts the stt_language %j', async (tag) => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const created = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody({ stt_language: tag }) });
      expect(created.status).toBe(200);
      expect(created.body.stt_language).toBe(tag);
    });

    it('accepts every provider of the list, and local', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      for (const provider of ['anthropic', 'aws', 'gemini', 'ollama', 'together']) {
        const created = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody({ engine_model: `${provider}.some-model` }) });
        expect(created.status, provider).toBe(200);
      }
      expect((await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody({ engine_model: 'local.scripted' }) })).status).toBe(200);
    });

    it('answers bad JSON with 400 INVALID_JSON_BODY', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const response = await call(harness, 'POST', '/v1.0/ais', { key, rawBody: '{"engine_model": ' });
      expect(response.status).toBe(400);
      expect(response.body.error.reason).toBe('INVALID_JSON_BODY');
    });

    it('answers a body that is not JSON with 400', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const response = await call(harness, 'POST', '/v1.0/ais', { key, rawBody: '<ai/>', headers: { 'content-type': 'application/xml' } });
      expect(response.status).toBe(400);
      expect(response.body.error.reason).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('answers a missing body with 400', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const response = await call(harness, 'POST', '/v1.0/ais', { key });
      expect(response.status).toBe(400);
      expect(response.body.error.status).toBe('INVALID_ARGUMENT');
    });

    it('answers an oversized body with 413', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const response = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody({ init_prompt: 'x'.repeat(2 * 1024 * 1024) }) });
      expect(response.status).toBe(413);
      expect(response.body.error.reason).toBe('BODY_TOO_LARGE');
    });

    it.each([
      ['GET', '/v1.0/ais/not-a-uuid'],
      ['PUT', '/v1.0/ais/1234'],
      ['DELETE', '/v1.0/ais/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'],
      ['GET', '/v1.0/aicalls/nope'],
      ['POST', '/v1.0/aicalls/nope/terminate'],
      ['GET', '/v1.0/aimessages/nope'],
      ['GET', '/v1.0/aisummaries/nope'],
    ] as const)('answers %s %s (malformed id) with 400 INVALID_ID', async (method, url) => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const response = await call(harness, method, url, { key, body: method === 'PUT' ? aiBody() : undefined });
      expect(response.status).toBe(400);
      expect(response.body.error.reason).toBe('INVALID_ID');
    });
  });
}
