import { z } from 'zod';
import type { LlmMessage } from '../providers/types.ts';

/** What a summary says when the transcripts hold nothing worth summarising (also the LLM's instructed answer). */
export const noContentSentence = 'No meaningful content available for summary.';

/** The sections every summary has, in order. */
export const summarySections = ['Call Type', 'Key Discussion Points', 'Decisions', 'Action Items', 'Additional Notes'] as const;

/** One utterance of the transcription: `in` the caller, `out` the agent (what the caller heard). */
export const summaryTranscriptSchema = z.object({
  direction: z.enum(['in', 'out']),
  text: z.string().max(20_000),
  offset_ms: z.number().int().min(0),
});
export type SummaryTranscript = z.infer<typeof summaryTranscriptSchema>;

/**
 * `POST /v1/summaries` (shared queue): write one summary. Stateless, like a text turn: ai-manager
 * sends everything (the transcripts, the flow's variables, the engine and its key), so any
 * process takes any summary.
 */
export const summaryRequestSchema = z.object({
  customer_id: z.uuid(),
  summary_id: z.uuid(),
  ai: z.object({
    /** `<provider>.<model>`; `local` (or any `local.*`) is the offline extractive summariser, no LLM. */
    engine_model: z.string().min(1).max(200),
    engine_key: z.string().optional(),
    parameter: z.record(z.string(), z.unknown()).default({}),
  }),
  /** BCP-47 tag the summary is written in (ai-manager resolved it). */
  language: z.string().min(1).max(35).default('en-US'),
  /** Oldest first. */
  transcripts: z.array(summaryTranscriptSchema).max(20_000).default([]),
  /** The activeflow's variables, when the summary was asked for by a flow. */
  variables: z.record(z.string(), z.string()).default({}),
});
export type SummaryRequest = z.infer<typeof summaryRequestSchema>;

/** Whether the transcripts hold any words at all (empty input is answered without an LLM). */
export function hasSpokenWords(transcripts: readonly SummaryTranscript[]): boolean {
  return transcripts.some((transcript) => /[\p{L}\p{N}]/u.test(transcript.text));
}

/** The instructions: the five sections, the language, and the exact sentence for nothing to summarise. */
export function summarySystemPrompt(language: string): string {
  return [
    'You summarise phone calls for the business that took them.',
    'You get the call\'s transcript as JSON (each utterance with its speaker: "caller" for the person who called, "agent" for the business side, an AI or a person, and its offset in milliseconds) and the call flow\'s variables as JSON.',
    `Write the summary in the language with the BCP-47 tag ${language}, in plain text with these sections, each under its heading on a line of its own, in this order:`,
    ...summarySections.map((section, index) => `${index + 1}. ${section}`),
    'Under each heading write short bullet points ("- ") taken only from the transcript and the variables; write "- None" under a heading with nothing to say. Do not invent facts.',
    `If the transcript holds no meaningful content (silence, noise, only greetings), answer exactly: ${noContentSentence}`,
  ].join('\n');
}

/** The one user message: the transcript and the variables as JSON. */
export function summaryUserMessage(request: Pick<SummaryRequest, 'transcripts' | 'variables'>): string {
  const transcript = request.transcripts.map((entry) => ({ speaker: entry.direction === 'in' ? 'caller' : 'agent', offset_ms: entry.offset_ms, text: entry.text }));
  return `Transcript:\n${JSON.stringify(transcript)}\n\nVariables:\n${JSON.stringify(request.variables)}`;
}

/** The messages of the single LLM request that writes a summary. */
export function summaryMessages(request: SummaryRequest): LlmMessage[] {
  return [
    { role: 'system', content: summarySystemPrompt(request.language) },
    { role: 'user', content: summaryUserMessage(request) },
  ];
}
