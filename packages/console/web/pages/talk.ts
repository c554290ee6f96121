import { api, listAll, storedKey } from '../api.ts';
import { TalkAudio, type PlayerReport } from '../audio/talk-audio.ts';
import { SAMPLE_RATE } from '../audio/pcm.ts';
import { h, replaceChildren } from '../dom.ts';
import type { Customer } from '../main.ts';
import { transcriptEntry, type Aimessage } from '../transcript.ts';

interface Ai {
  id: string;
  name: string;
  engine_model: string;
}

/** `POST /v1.0/web_sessions`'s answer. */
interface WebSessionTicket {
  aicall: { id: string };
  media_url: string;
}

/** A streamed piece of an answer (`aimessage_intermediate`). */
interface Piece {
  id: string;
  aicall_id: string;
  content: string;
  sequence: number;
}

type TalkState = 'idle' | 'connecting' | 'listening' | 'ended' | 'error';

/** A session as the page runs it: the media socket, the audio, the event socket for the transcript. */
interface Running {
  aicallId: string;
  media: WebSocket;
  events: WebSocket;
  audio: TalkAudio;
}

const wsScheme = () => (location.protocol === 'https:' ? 'wss:' : 'ws:');

/**
 * Talk (`#/talk`): a conversation with one of the customer's AIs through the microphone, a web
 * session (`POST /v1.0/web_sessions`, then its media WebSocket). The microphone goes out as
 * 16 kHz PCM16 in 20 ms frames, the AI's speech is played as it comes and dropped at once on
 * a barge-in (`clear`), and the transcript shows the stored messages and the streamed answer
 * from the event socket (`/v1.0/ws`). What was played is on `#talk-output`'s data attributes.
 */
export async function renderTalk(container: HTMLElement, customer: Customer, signal: AbortSignal): Promise<void> {
  const select = h('select', { id: 'talk-ai', required: true });
  const start = h('button', { type: 'submit', id: 'talk-start' }, 'Start');
  const stop = h('button', { type: 'button', id: 'talk-stop', class: 'danger', disabled: true }, 'Stop');
  const status = h('p', { id: 'talk-status', role: 'status', 'data-state': 'idle' }, 'Choose an AI and press Start; the browser asks for the microphone.');
  const output = h('p', { id: 'talk-output', class: 'muted', 'data-played-samples': '0', 'data-peak-rms': '0', 'data-clears': '0' }, 'AI audio: nothing played yet.');
  const transcript = h('ol', { class: 'transcript', id: 'talk-transcript', 'aria-live': 'polite' });
  const streaming = h('p', { class: 'streaming', 'aria-live': 'off' });
  const form = h('form', { class: 'talk-controls' }, h('label', { for: 'talk-ai' }, 'AI'), select, h('div', { class: 'buttons' }, start, stop));
  replaceChildren(container, h('h1', { id: 'page-title' }, 'Talk'), form, status, output, transcript, streaming);

  const ais = await listAll<Ai>('/v1.0/ais', 5);
  for (const ai of ais) select.append(h('option', { value: ai.id }, `${ai.name || ai.id} (${ai.engine_model})`));
  if (ais.length === 0) {
    start.disabled = true;
    status.textContent = 'No AI yet: create one under AIs first.';
  }

  let running: Running | undefined;
  const setState = (state: TalkState, text: string) => {
    status.dataset.state = state;
    status.textContent = text;
    const active = state === 'connecting' || state === 'listening';
    start.disabled = active || ais.length === 0;
    select.disabled = active;
    stop.disabled = !active;
  };
  const showReport = (report: PlayerReport) => {
    output.dataset.playedSamples = String(report.played);
    output.dataset.peakRms = report.peakRms.toFixed(4);
    output.dataset.clears = String(report.clears);
    output.textContent = `AI audio: ${(report.played / SAMPLE_RATE).toFixed(1)} s played${report.clears > 0 ? `, interrupted ${report.clears} times` : ''}.`;
  };

  const finish = async (state: TalkState, text: string) => {
    const current = running;
    running = undefined;
    if (!current) return;
    setState(state, text);
    if (current.media.readyState === WebSocket.OPEN || current.media.readyState === WebSocket.CONNECTING) current.media.close(1000, 'stopped');
    // The last stored messages come after the media closed: the event socket stays a moment.
    setTimeout(() => current.events.close(1000, 'session over'), 3000);
    await current.audio.stop();
  };

  const seen = new Set<string>();
  const pieces = new Map<string, Piece[]>();
  const onEvent = (aicallId: string, event: { type: string; data?: unknown }) => {
    if (event.type === 'aimessage_created') {
      const message = event.data as Aimessage;
      if (message.aicall_id !== aicallId || seen.has(message.id)) return;
      seen.add(message.id);
      if (message.role === 'assistant') {
        pieces.clear();
        streaming.textContent = '';
      }
      const entry = transcriptEntry(message, undefined);
      if (entry) transcript.append(entry);
    } else if (event.type === 'aimessage_intermediate') {
      const piece = event.data as Piece;
      if (piece.aicall_id !== aicallId) return;
      const list = pieces.get(piece.id) ?? [];
      if (!list.some((known) => known.sequence === piece.sequence)) list.push(piece);
      list.sort((a, b) => a.sequence - b.sequence);
      pieces.set(piece.id, list);
      streaming.textContent = `AI: ${list.map((known) => known.content).join('')}`;
    }
  };

  const begin = async () => {
    if (running) return;
    setState('connecting', 'Asking for the microphone ...');
    replaceChildren(transcript);
    streaming.textContent = '';
    seen.clear();
    // The microphone first: the session (and its greeting) starts only once there is someone to hear it.
    const link: { media?: WebSocket } = {};
    let audio: TalkAudio;
    try {
      audio = await TalkAudio.start((frame) => {
        if (link.media?.readyState === WebSocket.OPEN) link.media.send(frame);
      }, showReport);
    } catch (error) {
      setState('error', `No microphone: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    let ticket: WebSessionTicket;
    try {
      setState('connecting', 'Starting ...');
      ticket = await api<WebSessionTicket>('POST', '/v1.0/web_sessions', { ai_id: select.value });
    } catch (error) {
      await audio.stop();
      setState('error', `Could not start: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const aicallId = ticket.aicall.id;
    container.dataset.aicallId = aicallId;
    // The transcript's events, subscribed before the greeting can be stored.
    const events = new WebSocket(`${wsScheme()}//${location.host}/v1.0/ws?token=${encodeURIComponent(storedKey() ?? '')}`);
    events.addEventListener('open', () => events.send(JSON.stringify({ type: 'subscribe', topics: [`customer_id:${customer.id}:aimessage`] })));
    events.addEventListener('message', (message) => {
      try {
        const event = JSON.parse(String(message.data)) as { type: string; data?: unknown };
        if (event.type === 'ping') events.send(JSON.stringify({ type: 'pong' }));
        else onEvent(aicallId, event);
      } catch {
        // Not JSON: nothing the page shows.
      }
    });
    const media = new WebSocket(`${wsScheme()}//${location.host}${ticket.media_url}`);
    link.media = media;
    media.binaryType = 'arraybuffer';
    running = { aicallId, media, events, audio };
    media.addEventListener('message', (message) => {
      if (message.data instanceof ArrayBuffer) {
        audio.play(message.data);
        return;
      }
      let control: { type: string; reason?: string; message?: string };
      try {
        control = JSON.parse(String(message.data)) as typeof control;
      } catch {
        return;
      }
      if (control.type === 'clear') audio.clear();
      else if (control.type === 'started') setState('listening', 'Listening: speak to the AI. Press Stop to end.');
      else if (control.type === 'error') void finish('error', control.message ?? 'The session failed.');
      else if (control.type === 'ended') void finish('ended', `Ended: ${control.reason ?? 'the session is over'}.`);
    });
    media.addEventListener('close', () => void finish('ended', 'Ended.'));
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void begin();
  });
  stop.addEventListener('click', () => {
    void finish('ended', 'Stopped.').then(() => start.focus());
  });
  signal.addEventListener('abort', () => void finish('ended', 'Left the page.'), { once: true });
}
