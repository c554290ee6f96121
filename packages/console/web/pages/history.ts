import { api, listAll, storedKey } from '../api.ts';
import { formatTime, h, replaceChildren } from '../dom.ts';
import { transcriptList, type Aimessage } from '../transcript.ts';
import { transcriptionList, type TranscriptLine } from '../transcription.ts';

interface Aicall {
  id: string;
  assistance_id: string;
  reference_type: string;
  reference_id: string | null;
  status: string;
  tm_create: string;
  tm_end?: string | null;
  cost?: number;
}

interface Summary {
  id: string;
  reference_id: string;
  status: string;
  content: string;
}

interface Transcribe {
  id: string;
  reference_type: string;
  reference_id: string;
  status: string;
  direction: string;
}

interface Recording {
  id: string;
  reference_id: string;
  status: string;
  duration_ms: number;
}

/** Past AIcalls (`#/history`): the list, and one call's conversation, cost, summary, transcriptions and recordings. */
export async function renderHistory(container: HTMLElement): Promise<void> {
  const detail = h('div', { class: 'editor' });
  const aicalls = await listAll<Aicall>('/v1.0/aicalls', 3);
  replaceChildren(
    container,
    h('h1', { id: 'page-title' }, 'History'),
    aicalls.length === 0
      ? h('p', {}, 'No AIcalls yet.')
      : h(
          'table',
          {},
          h('caption', { class: 'visually-hidden' }, 'AIcalls, newest first'),
          h('thead', {}, h('tr', {}, ...['Started', 'Status', 'Reference', 'Id', ''].map((title) => h('th', { scope: 'col' }, title)))),
          h(
            'tbody',
            {},
            ...aicalls.map((aicall) =>
              h(
                'tr',
                { 'data-id': aicall.id },
                h('td', {}, formatTime(aicall.tm_create)),
                h('td', {}, aicall.status),
                h('td', {}, aicall.reference_type || 'text'),
                h('td', {}, h('small', { class: 'muted' }, aicall.id)),
                h('td', {}, h('button', { type: 'button', onclick: () => void open(aicall.id) }, 'Open')),
              ),
            ),
          ),
        ),
    detail,
  );

  async function open(id: string): Promise<void> {
    replaceChildren(detail, h('p', {}, 'Loading ...'));
    const [aicall, messages] = await Promise.all([api<Aicall>('GET', `/v1.0/aicalls/${id}`), listAll<Aimessage>(`/v1.0/aimessages?aicall_id=${id}`)]);
    messages.sort((a, b) => a.tm_create.localeCompare(b.tm_create));
    const reference = aicall.reference_id;
    const [summaries, recordings] = reference
      ? await Promise.all([
          listAll<Summary>('/v1.0/aisummaries', 3).then((all) => all.filter((summary) => summary.reference_id === reference)),
          aicall.reference_type === 'call' ? listAll<Recording>('/v1.0/recordings', 3).then((all) => all.filter((recording) => recording.reference_id === reference), () => []) : Promise.resolve([]),
        ])
      : [[], []];
    // The transcriptions of the call and of its recordings, with their transcripts.
    const transcribedIds = new Set([reference, ...recordings.map((recording) => recording.id)].filter((id): id is string => Boolean(id)));
    const transcribes =
      aicall.reference_type === 'call' ? await listAll<Transcribe>('/v1.0/transcribes', 3).then((all) => all.filter((transcribe) => transcribedIds.has(transcribe.reference_id)), () => []) : [];
    const transcriptions = await Promise.all(
      transcribes.map(async (transcribe) => ({ transcribe, lines: await listAll<TranscriptLine>(`/v1.0/transcripts?transcribe_id=${transcribe.id}`, 5) })),
    );
    const key = storedKey() ?? '';
    replaceChildren(
      detail,
      h(
        'article',
        { class: 'card', 'aria-labelledby': 'history-title' },
        h('h2', { id: 'history-title' }, `AIcall ${aicall.id}`),
        h('p', {}, `${aicall.status}, started ${formatTime(aicall.tm_create)}${aicall.tm_end ? `, ended ${formatTime(aicall.tm_end)}` : ''}. Cost: ${aicall.cost ?? 0} micro-units.`),
        ...summaries.map((summary) => h('section', { class: 'summary' }, h('h3', {}, `Summary (${summary.status})`), h('p', {}, summary.content))),
        ...recordings
          .filter((recording) => recording.status === 'ended')
          .map((recording) => h('section', {}, h('h3', {}, 'Recording'), h('audio', { controls: true, preload: 'none', src: `/v1.0/recordings/${recording.id}/file?token=${encodeURIComponent(key)}` }))),
        ...transcriptions.map(({ transcribe, lines }) =>
          h(
            'section',
            { class: 'transcription-section', 'data-transcribe-id': transcribe.id },
            h('h3', {}, `Transcription of the ${transcribe.reference_type} (${transcribe.direction}, ${transcribe.status})`),
            lines.length > 0 ? transcriptionList(lines) : h('p', { class: 'muted' }, 'Nothing transcribed.'),
          ),
        ),
        h('h3', {}, 'Conversation'),
        transcriptList(messages),
      ),
    );
  }
}
