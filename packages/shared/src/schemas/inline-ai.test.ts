import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aiFieldsSchema } from './ai.ts';
import { validateActions } from './flow.ts';
import { hasInlineAiSettings, inlineAiSettingsOf, inlineAiView, withoutInlineAi } from './inline-ai.ts';

/** The problem message of one action, or its stored option. */
function check(type: string, option: Record<string, unknown>): string | Record<string, unknown> {
  const result = validateActions([{ type, option }], randomUUID);
  return result.actions ? result.actions[0]!.option : result.problems.map((problem) => problem.message).join(' | ');
}

/** What POST /v1.0/ais says about a body: its issues as `field: message`, like the API's 400. */
function aiMessage(body: Record<string, unknown>): string {
  const parsed = aiFieldsSchema.safeParse(body);
  return parsed.success ? '' : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
}

describe('inline AI settings in ai_talk, ai and ai_task options', () => {
  it.each(['ai_talk', 'ai', 'ai_task'])('%s takes an AI\'s settings instead of an AI, as given (ai-manager fills the defaults in)', (type) => {
    expect(check(type, { engine_model: 'local.scripted', init_prompt: 'hi', engine_key: 'sk-1', duration: 30 })).toEqual({
      engine_model: 'local.scripted',
      init_prompt: 'hi',
      engine_key: 'sk-1',
      duration: 30,
    });
  });

  it.each<[string, Record<string, unknown>]>([
    ['an unsupported tts_type', { engine_model: 'local.scripted', tts_type: 'piper' }],
    ['an unsupported stt_type', { engine_model: 'local.scripted', stt_type: 'google' }],
    ['an engine_model without a provider', { engine_model: 'gpt-4o' }],
    ['a local engine that does not exist', { engine_model: 'local.other' }],
    ['a vad_config out of range', { engine_model: 'local.scripted', vad_config: { confidence: 2 } }],
    ['an unknown tool', { engine_model: 'local.scripted', tool_names: ['launch_rockets'] }],
    ['a turn_config whose stops contradict', { engine_model: 'local.scripted', turn_config: { end_of_turn: { complete_stop_secs: 2, incomplete_stop_secs: 1 } } }],
    ['a no_input_timeout under a second', { engine_model: 'local.scripted', no_input_timeout: 0.5 }],
    ['inline settings without an engine_model', { init_prompt: 'hi' }],
  ])('refuses %s with the message of POST /v1.0/ais, under option.', (_name, option) => {
    const expected = aiMessage(option);
    expect(expected).not.toBe('');
    expect(check('ai_talk', option)).toBe(`option.${expected}`);
  });

  it('refuses an AI named beside inline settings, a team with them, and neither', () => {
    expect(check('ai_talk', { ai_id: randomUUID(), engine_model: 'local.scripted' })).toBe(
      'option: name an AI (ai_id, or assistance_id) or give its settings inline (engine_model, init_prompt, ...), not both',
    );
    expect(check('ai_task', { assistance_type: 'ai', assistance_id: randomUUID(), init_prompt: 'x' })).toMatch(/not both/);
    expect(check('ai', { assistance_type: 'team', engine_model: 'local.scripted' })).toBe('option.assistance_type: inline settings are an AI\'s: leave assistance_type out or make it "ai"');
    expect(check('ai_talk', {})).toMatch(/^option: needs assistance_id \(with assistance_type\) or ai_id, or an AI's settings inline/);
    // The read-only fields alone are not settings.
    expect(check('ai_talk', { engine_key_set: true, inline_ai_id: randomUUID() })).toMatch(/needs assistance_id/);
  });

  it('takes a saved action back as it was shown (read-only fields included)', () => {
    const shown = { engine_model: 'local.scripted', parameter: {}, init_prompt: '', tts_type: '', fallback_engine_model: '', vad_config: {}, turn_config: {}, engine_key_set: true, fallback_engine_key_set: false, inline_ai_id: randomUUID() };
    expect(check('ai_talk', shown)).toEqual(shown);
  });

  it('splits an option into its settings and the rest, and shows an AI without its keys', () => {
    const option = { engine_model: 'local.scripted', engine_key: 'sk', duration: 5, engine_key_set: true, inline_ai_id: 'x' };
    expect(hasInlineAiSettings(option)).toBe(true);
    expect(hasInlineAiSettings({ ai_id: 'x', engine_key_set: true })).toBe(false);
    expect(inlineAiSettingsOf(option)).toEqual({ engine_model: 'local.scripted', engine_key: 'sk' });
    expect(withoutInlineAi(option)).toEqual({ duration: 5 });
    const view = inlineAiView({
      id: 'ai-1',
      customer_id: 'c',
      name: '',
      detail: '',
      engine_model: 'local.scripted',
      parameter: {},
      engine_key_set: true,
      init_prompt: 'p',
      tts_type: 'local',
      tts_voice_id: '',
      stt_type: '',
      stt_language: '',
      tool_names: [],
      vad_config: {},
      smart_turn_enabled: false,
      turn_config: {},
      media_transport: '',
      knowledgebase_ids: [],
      fallback_engine_model: '',
      fallback_engine_key_set: false,
      fallback_tts_type: '',
      fallback_tts_voice_id: '',
      no_input_timeout: 0,
      no_input_max: 2,
      tm_create: '',
      tm_update: '',
      tm_delete: null,
    });
    expect(view).toMatchObject({ engine_model: 'local.scripted', init_prompt: 'p', engine_key_set: true, fallback_engine_key_set: false, inline_ai_id: 'ai-1' });
    expect(Object.keys(view)).not.toContain('engine_key');
    expect(Object.keys(view)).not.toContain('fallback_engine_key');
    expect(Object.keys(view)).not.toContain('name');
  });
});
