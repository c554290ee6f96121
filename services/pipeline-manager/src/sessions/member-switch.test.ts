import { describe, expect, it } from 'vitest';
import { FakeLlm, FakeStt, FakeTts } from '../pipeline/testing/fakes.ts';
import { buildMemberSwitch, memberSwitchSchema } from './member-switch.ts';
import { pipelineStartSchema, type PipelineStart, type ProviderSource } from './pipeline-start.ts';

const ai = (fields: Record<string, unknown>): PipelineStart['ai'] =>
  pipelineStartSchema.parse({ aicall_id: crypto.randomUUID(), customer_id: crypto.randomUUID(), call_id: crypto.randomUUID(), ai: { engine_model: 'openai.main', ...fields } }).ai;

const member = (fields: Record<string, unknown>) => memberSwitchSchema.parse({ member_id: crypto.randomUUID(), ai: ai(fields), messages: ['You are billing.'], tools: [] });

describe('buildMemberSwitch', () => {
  const built: string[] = [];
  const providers: ProviderSource = {
    llm: () => new FakeLlm([]),
    tts: () => new FakeTts(),
    stt: (settings) => {
      built.push(`${settings.stt_type}/${settings.stt_language}`);
      return new FakeStt();
    },
  };
  const warn = () => undefined;
  const listening = ai({ stt_type: 'deepgram', stt_language: 'en-US', parameter: { stt_phrases: ['invoice'] } });

  it("takes the member's language, and its recogniser only when the caller would be heard differently", () => {
    built.length = 0;
    const same = buildMemberSwitch(providers, member({ stt_type: 'deepgram', stt_language: 'en-US', tts_voice_id: 'en-gb', parameter: { stt_phrases: ['invoice'], role: 'billing' } }), warn, listening);
    expect(same.language).toBe('en-US');
    expect(same.stt).toBeUndefined();
    for (const fields of [
      { stt_type: 'deepgram', stt_language: 'es-ES', parameter: { stt_phrases: ['invoice'] } },
      { stt_type: 'local', stt_language: 'en-US', parameter: { stt_phrases: ['invoice'] } },
      { stt_type: 'deepgram', stt_language: 'en-US', parameter: { stt_phrases: ['refund'] } },
    ]) {
      const change = buildMemberSwitch(providers, member(fields), warn, listening);
      expect(change.language).toBe(fields.stt_language);
      expect(change.stt, JSON.stringify(fields)).toBeInstanceOf(FakeStt);
    }
    expect(built).toEqual(['deepgram/es-ES', 'local/en-US', 'deepgram/en-US']);
  });

  it("carries the member's turn and VAD settings, none when it sets none (the defaults then apply)", () => {
    const change = buildMemberSwitch(providers, member({ turn_config: { interruption: { min_words: 2 } }, vad_config: { stop_secs: 0.4 } }), warn, listening);
    expect(change.turnConfig).toEqual({ interruption: { min_words: 2 } });
    expect(change.vadConfig).toEqual({ stop_secs: 0.4 });
    const plain = buildMemberSwitch(providers, member({}), warn, listening);
    expect(plain.turnConfig).toBeUndefined();
    expect(plain.vadConfig).toBeUndefined();
  });
});
