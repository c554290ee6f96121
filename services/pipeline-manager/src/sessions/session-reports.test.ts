import { billingUsageSchema } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { usageFields } from './session-reports.ts';

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
