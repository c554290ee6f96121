import { describe, expect, it } from 'vitest';
import { summaryLanguage } from './summary-language.ts';

describe('summaryLanguage', () => {
  it("takes the request's, else the flow's voipbin.summary.language, else the transcription's, else en-US", () => {
    const flow = { 'voipbin.summary.language': 'fr-FR' };
    expect(summaryLanguage('ko-KR', flow, 'ja-JP')).toBe('ko-KR');
    expect(summaryLanguage('', flow, 'ja-JP')).toBe('fr-FR');
    expect(summaryLanguage('', { 'voipbin.summary.language': ' ' }, 'ja-JP')).toBe('ja-JP');
    expect(summaryLanguage('', {}, '')).toBe('en-US');
  });
});
