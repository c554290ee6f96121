import { describe, expect, it } from 'vitest';
import { aiFieldsSchema, engineModelSchema, languageTagSchema, parseEngineModel, stallConfigSchema, toolNamesSchema, vadConfigSchema } from './ai.ts';

describe('engine_model', () => {
  it('splits provider and model at the first dot', () => {
    expect(parseEngineModel('openai.gpt-5.2')).toEqual({ provider: 'openai', model: 'gpt-5.2' });
    expect(parseEngineModel('local.scripted')).toEqual({ provider: 'local', model: 'scripted' });
  });

  it.each(['gpt-4o', 'dialogflow.x', 'openai.', '.gpt', 'OpenAI.gpt-4o', ''])('rejects %j', (value) => {
    expect(engineModelSchema.safeParse(value).success).toBe(false);
  });

  it('names the accepted providers in the message', () => {
    const result = engineModelSchema.safeParse('gpt-4o');
    expect(result.error?.issues[0]?.message).toContain('anthropic, aws, azure');
  });
});

describe('stt_language', () => {
  it.each(['', 'en', 'en-US', 'ko-KR', 'zh-Hant-TW', 'es-419'])('accepts %j', (value) => {
    expect(languageTagSchema.safeParse(value).success).toBe(true);
  });
  it.each(['english', 'en_US', 'e', 'en-US-', '12-US'])('rejects %j', (value) => {
    expect(languageTagSchema.safeParse(value).success).toBe(false);
  });
});

describe('tool_names', () => {
  it('accepts all, nothing, or catalog names', () => {
    expect(toolNamesSchema.safeParse(['all']).success).toBe(true);
    expect(toolNamesSchema.safeParse([]).success).toBe(true);
    expect(toolNamesSchema.safeParse(['connect_call', 'stop_service']).success).toBe(true);
  });

  it('rejects unknown names, naming them', () => {
    const result = toolNamesSchema.safeParse(['connect_call', 'launch_rocket']);
    expect(result.error?.issues[0]?.message).toContain('"launch_rocket"');
  });

  it('rejects "all" mixed with names and repeated names', () => {
    expect(toolNamesSchema.safeParse(['all', 'stop_flow']).success).toBe(false);
    expect(toolNamesSchema.safeParse(['stop_flow', 'stop_flow']).success).toBe(false);
  });
});

describe('vad_config', () => {
  it('enforces the ranges and rejects unknown keys', () => {
    expect(vadConfigSchema.safeParse({ confidence: 0.5, start_secs: 0.2, stop_secs: 30, min_volume: 0 }).success).toBe(true);
    expect(vadConfigSchema.safeParse({ confidence: 1.5 }).success).toBe(false);
    expect(vadConfigSchema.safeParse({ stop_secs: 31 }).success).toBe(false);
    expect(vadConfigSchema.safeParse({ start_secs: -1 }).success).toBe(false);
    expect(vadConfigSchema.safeParse({ threshold: 0.5 }).success).toBe(false);
  });
});

describe('AI fields', () => {
  it('fills defaults and leaves the keep-if-omitted fields undefined', () => {
    const fields = aiFieldsSchema.parse({ engine_model: 'openai.gpt-5' });
    expect(fields).toMatchObject({ name: '', tool_names: [], tts_type: '', stt_language: '', parameter: {} });
    expect(fields.engine_key).toBeUndefined();
    expect(fields.vad_config).toBeUndefined();
    expect(fields.smart_turn_enabled).toBeUndefined();
  });

  it('reports each bad field by name', () => {
    const result = aiFieldsSchema.safeParse({ engine_model: 'x', tts_type: 'robot', stt_type: 'whisper', extra: 1 });
    const fields = result.error?.issues.map((issue) => issue.path.join('.') || issue.message);
    expect(fields).toEqual(expect.arrayContaining(['engine_model', 'tts_type', 'stt_type']));
    expect(JSON.stringify(result.error?.issues)).toContain('extra');
  });

  it('accepts the offline engines: local TTS and local STT', () => {
    const fields = aiFieldsSchema.parse({ engine_model: 'local.scripted', tts_type: 'local', stt_type: 'local', parameter: { stt_phrases: ['yes', 'no'] } });
    expect(fields).toMatchObject({ tts_type: 'local', stt_type: 'local', parameter: { stt_phrases: ['yes', 'no'] } });
  });
});

describe('stall settings and fallback providers', () => {
  it('enforces the stall ranges and rejects unknown keys', () => {
    expect(stallConfigSchema.safeParse({ timeout_secs: 2.5, filler_text: '', apology_text: 'Sorry.' }).success).toBe(true);
    for (const bad of [{ timeout_secs: 0.4 }, { timeout_secs: 31 }, { filler_text: 'x'.repeat(201) }, { apology_text: 'x'.repeat(501) }, { retries: 2 }]) {
      expect(stallConfigSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('takes a fallback model like engine_model, or "" for none, and a fallback TTS from the catalog', () => {
    const fields = aiFieldsSchema.parse({ engine_model: 'openai.gpt-5', fallback_engine_model: 'anthropic.claude', fallback_tts_type: 'local' });
    expect(fields).toMatchObject({ fallback_engine_model: 'anthropic.claude', fallback_tts_type: 'local' });
    expect(aiFieldsSchema.safeParse({ engine_model: 'openai.gpt-5', fallback_engine_model: '' }).success).toBe(true);
    const result = aiFieldsSchema.safeParse({ engine_model: 'openai.gpt-5', fallback_engine_model: 'gpt-4o', fallback_tts_type: 'robot' });
    expect(result.error?.issues.map((issue) => issue.path[0]).sort()).toEqual(['fallback_engine_model', 'fallback_tts_type']);
  });
});
