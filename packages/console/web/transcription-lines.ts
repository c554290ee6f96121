/* Pure (no DOM): the console's unit tests and the page share it. */

/** A transcript of a call's or recording's transcription, as `GET /v1.0/transcripts` shows it. */
export interface TranscriptLine {
  direction: 'in' | 'out';
  message: string;
  offset_ms: number;
}

/** `m:ss` of an offset from the transcription's start. */
export function offsetLabel(offsetMs: number): string {
  const seconds = Math.max(0, Math.floor(offsetMs / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/**
 * Both sides of a transcription in the order they were said (by offset; one clock for both
 * sides), each with who spoke: `in` is the caller, `out` what the caller heard.
 */
export function transcriptionLines(transcripts: readonly TranscriptLine[]): { at: string; speaker: string; text: string }[] {
  return [...transcripts]
    .sort((a, b) => a.offset_ms - b.offset_ms || (a.direction === b.direction ? 0 : a.direction === 'in' ? -1 : 1))
    .map((line) => ({ at: offsetLabel(line.offset_ms), speaker: line.direction === 'in' ? 'Caller' : 'Heard by the caller', text: line.message }));
}
