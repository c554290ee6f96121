import { describe, expect, it } from 'vitest';
import { hasSpokenWords, noContentSentence, summaryMessages, summaryRequestSchema } from './summary-request.ts';

const base = {
  customer_id: '00000000-0000-4000-8000-00000000000c',
  summary_id: '00000000-0000-4000-8000-000000000005',
  ai: { engine_model: 'openai.gpt-4o-mini' },
};

describe('the summary request', () => {
  it('is one system prompt with the sections, language and no-content sentence, and one user message with the transcript and variables as JSON', () => {
    const request = summaryRequestSchema.parse({
      ...base,
      language: 'ko-KR',
      transcripts: [
        { direction: 'in', text: 'I need a refund.', offset_ms: 1200 },
        { direction: 'out', text: 'I can help with that.', offset_ms: 3000 },
      ],
      variables: { order: 'A-17' },
    });
    const [system, user, ...rest] = summaryMessages(request);
    expect(rest).toEqual([]);
    expect(system).toMatchObject({ role: 'system' });
    for (const section of ['Call Type', 'Key Discussion Points', 'Decisions', 'Action Items', 'Additional Notes']) expect(system!.content).toContain(section);
    expect(system!.content).toContain('ko-KR');
    expect(system!.content).toContain(`answer exactly: ${noContentSentence}`);
    expect(user).toMatchObject({ role: 'user' });
    const [transcriptJson, variablesJson] = user!.content.replace('Transcript:\n', '').split('\n\nVariables:\n');
    expect(JSON.parse(transcriptJson!)).toEqual([
      { speaker: 'caller', offset_ms: 1200, text: 'I need a refund.' },
      { speaker: 'agent', offset_ms: 3000, text: 'I can help with that.' },
    ]);
    expect(JSON.parse(variablesJson!)).toEqual({ order: 'A-17' });
  });

  it('defaults the language to en-US and the transcripts and variables to none', () => {
    expect(summaryRequestSchema.parse(base)).toMatchObject({ language: 'en-US', transcripts: [], variables: {} });
  });

  it('tells words from silence', () => {
    expect(hasSpokenWords([])).toBe(false);
    expect(hasSpokenWords([{ direction: 'in', text: '…  ?', offset_ms: 0 }])).toBe(false);
    expect(hasSpokenWords([{ direction: 'out', text: '네', offset_ms: 0 }])).toBe(true);
  });
});
