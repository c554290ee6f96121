import { h } from './dom.ts';
import { transcriptionLines, type TranscriptLine } from './transcription-lines.ts';

export type { TranscriptLine } from './transcription-lines.ts';

/** A transcription as a list for the history page. */
export function transcriptionList(transcripts: readonly TranscriptLine[]): HTMLElement {
  return h(
    'ol',
    { class: 'transcription' },
    ...transcriptionLines(transcripts).map((line) => h('li', {}, h('span', { class: 'muted' }, `${line.at} `), h('span', { class: 'speaker' }, `${line.speaker}: `), line.text)),
  );
}
