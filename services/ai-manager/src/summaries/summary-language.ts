/** The activeflow variable a flow sets to choose its summaries' language. */
export const summaryLanguageVariable = 'voipbin.summary.language';

/** The language used when nothing else names one. */
export const defaultSummaryLanguage = 'en-US';

/**
 * The language a summary is written in: the request's, else the flow's
 * `voipbin.summary.language`, else the transcription's, else en-US.
 */
export function summaryLanguage(requested: string, variables: Record<string, string>, transcriptionLanguage: string): string {
  for (const candidate of [requested, variables[summaryLanguageVariable] ?? '', transcriptionLanguage]) {
    const language = candidate.trim();
    if (language !== '') return language;
  }
  return defaultSummaryLanguage;
}
