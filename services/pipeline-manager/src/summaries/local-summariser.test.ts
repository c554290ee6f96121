import { describe, expect, it } from 'vitest';
import { localSummary } from './local-summariser.ts';
import { noContentSentence, summarySections } from './summary-request.ts';

const request = (transcripts: { direction: 'in' | 'out'; text: string; offset_ms: number }[], variables: Record<string, string> = {}) => ({ transcripts, variables, language: 'en-US' });

describe('localSummary (the offline extractive summariser)', () => {
  it('quotes the caller and the agent under the five headings, in order', () => {
    const content = localSummary(
      request([
        { direction: 'out', text: 'Hello, this is the Riverside dental clinic. How can I help?', offset_ms: 0 },
        { direction: 'in', text: 'I would like to book a cleaning appointment for Tuesday morning.', offset_ms: 4000 },
        { direction: 'out', text: 'Tuesday morning is confirmed. I will send you a reminder by text.', offset_ms: 9000 },
      ]),
    );
    const headingLines = content.split('\n').filter((line) => (summarySections as readonly string[]).includes(line));
    expect(headingLines).toEqual([...summarySections]);
    expect(content).toContain('- Caller: I would like to book a cleaning appointment for Tuesday morning.');
    expect(content).toContain('- Agent: Hello, this is the Riverside dental clinic.');
    // "confirmed" is a decision; "I will send" an action item.
    expect(content.split('Decisions\n')[1]!.split('\n\n')[0]).toBe('- Agent: Tuesday morning is confirmed.');
    expect(content.split('Action Items\n')[1]!.split('\n\n')[0]).toContain('- Agent: I will send you a reminder by text.');
    expect(content).toContain('A conversation between the caller and the agent.');
  });

  it('answers the no-content sentence for empty input and input without words', () => {
    expect(localSummary(request([]))).toBe(noContentSentence);
    expect(localSummary(request([{ direction: 'in', text: ' ... ', offset_ms: 0 }]))).toBe(noContentSentence);
  });

  it('writes None under a heading with nothing, notes the flow\'s own variables but not the platform\'s', () => {
    const content = localSummary(request([{ direction: 'in', text: 'Hello?', offset_ms: 1500 }], { caller_name: 'Ada', 'voipbin.call.id': 'x' }));
    expect(content).toContain('Decisions\n- None');
    expect(content).toContain('The caller spoke; nothing from the agent was transcribed.');
    expect(content).toContain('- caller_name: Ada');
    expect(content).not.toContain('voipbin.call.id');
  });

  it('keeps at most three key sentences per side, the longest, in the order they were said, without repeats', () => {
    const said = ['One.', 'Two words.', 'Now three words.', 'And here four words.', 'And here four words.'];
    const content = localSummary(request(said.map((text, index) => ({ direction: 'in' as const, text, offset_ms: index * 1000 }))));
    const keyPoints = content.split('Key Discussion Points\n')[1]!.split('\n\n')[0]!.split('\n');
    expect(keyPoints).toEqual(['- Caller: Two words.', '- Caller: Now three words.', '- Caller: And here four words.']);
  });
});
