import { aimessageLatencySchema, billingUsageSchema } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { latencyOf, usageFields } from './session-reports.ts';

describe('usageFields', () => {
  it('reports usage spent on a dropped prepared answer as discarded, in a form ai-manager takes', () => {
    const fields = usageFields({ type: 'usage', kind: 'llm', provider: 'openai.gpt-4o-mini', inputTokens: 12, outputTokens: 3, discarded: true });
    expect(fields).toEqual({ kind: 'llm', provider: 'openai.gpt-4o-mini', input_tokens: 12, output_tokens: 3, discarded: true });
    const report = billingUsageSchema.parse({ id: '0b6f8a52-4b0c-4c4e-9d56-1f0f8f0f0f0f', customer_id: '1b6f8a52-4b0c-4c4e-9d56-1f0f8f0f0f0f', ...fields });
    expect(report.discarded).toBe(true);
  });

  it('leaves the flag out of ordinary usage', () => {
    expect(usageFields({ type: 'usage', kind: 'stt', provider: 'local', audioSeconds: 2.5 })).toEqual({ kind: 'stt', provider: 'local', audio_seconds: 2.5 });
  });
});

describe('latencyOf', () => {
  it('reports a turn\'s stages from the end of the caller\'s speech, the end-of-turn wait included, in a form ai-manager stores', () => {
    const latency = latencyOf({ turn: 2, speechEndedAt: 700, userStoppedAt: 1000, sttFinalAt: 1150, turnEndAt: 1450, llmRequestAt: 1450, llmFirstTokenAt: 1800, ttsFirstByteAt: 1950, firstAudioAt: 1960 });
    expect(latency).toEqual({ first_audio_ms: 960, stt_final_ms: 150, llm_first_token_ms: 350, tts_first_byte_ms: 150, end_of_turn_ms: 450 });
    expect(aimessageLatencySchema.parse(latency)).toEqual(latency);
  });

  it('leaves the end-of-turn wait out of a turn that began without speech, and reports nothing before the first audio', () => {
    expect(latencyOf({ turn: 1, llmRequestAt: 0, llmFirstTokenAt: 5, ttsFirstByteAt: 100, firstAudioAt: 110 })).toEqual({ first_audio_ms: 110, llm_first_token_ms: 5, tts_first_byte_ms: 95 });
    expect(latencyOf({ turn: 3, userStoppedAt: 10, turnEndAt: 20 })).toBeUndefined();
  });
});
