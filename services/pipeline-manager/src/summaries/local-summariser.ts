import { hasSpokenWords, noContentSentence, summarySections, type SummaryRequest, type SummaryTranscript } from './summary-request.ts';

/** Key sentences each side contributes to Key Discussion Points. */
const keySentencesPerSide = 3;
/** Longest sentence quoted; longer ones are cut with an ellipsis. */
const maxSentenceLength = 300;

const decisionWords = /\b(agree|agreed|agrees|decide|decided|confirm|confirmed|confirms|booked|approve|approved|accept|accepted|deal|settled)\b/i;
const actionWords = /\b(will|i'll|we'll|you'll|going to|need to|needs to|please|send|call (?:you |me )?back|follow up|schedule|remind|book)\b/i;

interface Sentence {
  side: 'Caller' | 'Agent';
  text: string;
  /** Position in the conversation, to keep the original order. */
  order: number;
}

/**
 * The offline summary (engine `local`): no LLM, so one-process mode and tests need no provider.
 * It is extractive: the caller's (`in`) and the agent's (`out`) own sentences, chosen by plain
 * rules, under the same headings an LLM is asked for. Headings stay English whatever the
 * language; the sentences are the speakers' own words.
 */
export function localSummary(request: Pick<SummaryRequest, 'transcripts' | 'variables' | 'language'>): string {
  if (!hasSpokenWords(request.transcripts)) return noContentSentence;
  const sentences = splitSentences(request.transcripts, request.language);
  const caller = sentences.filter((sentence) => sentence.side === 'Caller');
  const agent = sentences.filter((sentence) => sentence.side === 'Agent');
  const quote = (sentence: Sentence) => `- ${sentence.side}: ${sentence.text}`;
  const keyPoints = [...keySentences(caller), ...keySentences(agent)].sort((a, b) => a.order - b.order).map(quote);
  const decisions = sentences.filter((sentence) => decisionWords.test(sentence.text)).map(quote);
  const actions = sentences.filter((sentence) => actionWords.test(sentence.text) && !decisionWords.test(sentence.text)).map(quote);
  const sections: Record<(typeof summarySections)[number], string[]> = {
    'Call Type': [`- ${callType(caller.length, agent.length)}`],
    'Key Discussion Points': keyPoints,
    Decisions: decisions,
    'Action Items': actions,
    'Additional Notes': notes(request.transcripts, request.variables),
  };
  return summarySections.map((section) => `${section}\n${(sections[section].length > 0 ? sections[section] : ['- None']).join('\n')}`).join('\n\n');
}

function callType(callerSentences: number, agentSentences: number): string {
  if (agentSentences === 0) return 'The caller spoke; nothing from the agent was transcribed.';
  if (callerSentences === 0) return 'The agent spoke; nothing from the caller was transcribed.';
  return 'A conversation between the caller and the agent.';
}

/** The longest sentences of one side (more words carry more content), at most keySentencesPerSide. */
function keySentences(sentences: readonly Sentence[]): Sentence[] {
  const words = (sentence: Sentence) => sentence.text.split(/\s+/).length;
  return [...sentences].sort((a, b) => words(b) - words(a) || a.order - b.order).slice(0, keySentencesPerSide);
}

/** Sentences of every utterance in time order, without repeats, cut to a readable length. */
function splitSentences(transcripts: readonly SummaryTranscript[], language: string): Sentence[] {
  const segmenter = new Intl.Segmenter(safeLocale(language), { granularity: 'sentence' });
  const seen = new Set<string>();
  const sentences: Sentence[] = [];
  const ordered = [...transcripts].sort((a, b) => a.offset_ms - b.offset_ms);
  for (const transcript of ordered) {
    for (const { segment } of segmenter.segment(transcript.text)) {
      const text = segment.replace(/\s+/g, ' ').trim();
      if (!/[\p{L}\p{N}]/u.test(text)) continue;
      const side = transcript.direction === 'in' ? 'Caller' : 'Agent';
      const key = `${side}:${text.toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      sentences.push({ side, text: text.length > maxSentenceLength ? `${text.slice(0, maxSentenceLength - 1)}…` : text, order: sentences.length });
    }
  }
  return sentences;
}

/** How much was said, and the flow's own variables (the platform's `voipbin.*` ones are left out). */
function notes(transcripts: readonly SummaryTranscript[], variables: Record<string, string>): string[] {
  const callerCount = transcripts.filter((transcript) => transcript.direction === 'in').length;
  const seconds = Math.round(Math.max(0, ...transcripts.map((transcript) => transcript.offset_ms)) / 1000);
  const lines = [`- ${transcripts.length} utterances (${callerCount} from the caller) over about ${seconds} s.`];
  const own = Object.entries(variables).filter(([name]) => !name.startsWith('voipbin.'));
  for (const [name, value] of own.slice(0, 10)) lines.push(`- ${name}: ${value.slice(0, 200)}`);
  return lines;
}

function safeLocale(language: string): string {
  try {
    return Intl.Segmenter.supportedLocalesOf([language])[0] ?? 'en';
  } catch {
    return 'en';
  }
}
