import { api, ApiError, listAll, storedKey } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import type { Customer } from '../main.ts';
import { transcriptEntry, type Aimessage } from '../transcript.ts';

interface Aicall {
  id: string;
  customer_id: string;
  assistance_id: string;
  reference_type: string;
  reference_id: string | null;
  status: 'initiating' | 'progressing' | 'terminating' | 'terminated';
  tm_create: string;
}

/** A pushed event of `GET /v1.0/ws`, or one of its own messages. */
interface Pushed {
  type: string;
  seq?: number;
  data?: unknown;
  message?: string;
}

const statusOrder: readonly Aicall['status'][] = ['initiating', 'progressing', 'terminating', 'terminated'];

interface Piece {
  id: string;
  aicall_id: string;
  content: string;
  sequence: number;
}

/** What the page shows for one AIcall. */
interface LiveCall {
  aicall: Aicall;
  card: HTMLElement;
  status: HTMLElement;
  transcript: HTMLOListElement;
  /** The answer being streamed (`aimessage_intermediate`), replaced by the stored message. */
  streaming: HTMLElement;
  pieces: Map<string, Piece[]>;
  seen: Set<string>;
  turns: number;
  hangUp: HTMLButtonElement;
  send: HTMLFieldSetElement;
}

/**
 * Live calls (`#/live`): the customer's AIcall and message events over the public WebSocket
 * (`/v1.0/ws?token=`), AIcalls that are live when the page opens read from the API. Each call
 * shows its transcript as it comes (streamed text first, then the stored message with its tool
 * calls and its turn's latency waterfall), a hang-up button and a message box.
 */
export async function renderLive(container: HTMLElement, customer: Customer, signal: AbortSignal): Promise<void> {
  const connection = h('p', { class: 'muted', role: 'status', id: 'live-connection' }, 'Connecting ...');
  const empty = h('p', { id: 'live-empty' }, 'No live AIcall. New ones appear here as they start.');
  const calls = h('div', { class: 'live-calls' });
  replaceChildren(container, h('h1', { id: 'page-title' }, 'Live calls'), connection, empty, calls);
  const live = new Map<string, LiveCall>();

  const showEmpty = () => {
    empty.hidden = [...live.values()].some((call) => call.aicall.status !== 'terminated');
  };

  function callView(aicall: Aicall): LiveCall {
    const existing = live.get(aicall.id);
    if (existing) {
      // Events may arrive out of order (or a read may be older than an event): a status never goes back.
      if (statusOrder.indexOf(aicall.status) < statusOrder.indexOf(existing.aicall.status)) return existing;
      existing.aicall = aicall;
      existing.status.textContent = aicall.status;
      const ended = aicall.status === 'terminated' || aicall.status === 'terminating';
      existing.card.classList.toggle('ended', ended);
      existing.hangUp.disabled = ended;
      existing.send.disabled = ended;
      showEmpty();
      return existing;
    }
    const status = h('span', { class: 'badge status' }, aicall.status);
    const transcript = h('ol', { class: 'transcript', 'aria-live': 'polite' });
    const streaming = h('p', { class: 'streaming', 'aria-live': 'off' });
    const feedback = h('p', { class: 'error', role: 'alert' });
    const hangUp = h('button', { type: 'button', class: 'danger' }, 'Hang up');
    hangUp.addEventListener('click', () => {
      hangUp.disabled = true;
      api('POST', `/v1.0/aicalls/${aicall.id}/terminate`).then(
        () => (feedback.textContent = ''),
        (error: unknown) => {
          hangUp.disabled = false;
          feedback.textContent = error instanceof Error ? error.message : String(error);
        },
      );
    });
    const messageInput = h('input', { type: 'text', id: `send-${aicall.id}`, autocomplete: 'off', required: true });
    const send = h('fieldset', {}, h('legend', { class: 'visually-hidden' }, 'Send a message into the call'), h('label', { for: `send-${aicall.id}` }, 'Message'), messageInput, h('button', { type: 'submit' }, 'Send'));
    const form = h('form', { class: 'send-message' }, send);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const content = messageInput.value.trim();
      if (!content) return;
      api('POST', '/v1.0/aimessages', { aicall_id: aicall.id, role: 'user', content }).then(
        () => {
          messageInput.value = '';
          feedback.textContent = '';
        },
        (error: unknown) => (feedback.textContent = error instanceof ApiError && error.reason === 'SEND_COOLDOWN' ? 'Too soon after the last change: try again in a few seconds.' : error instanceof Error ? error.message : String(error)),
      );
    });
    const card = h(
      'article',
      { class: 'card live-call', 'data-aicall-id': aicall.id, 'aria-label': `AIcall ${aicall.id}` },
      h('header', {}, h('h2', {}, `AIcall ${aicall.id.slice(0, 8)}`), status, h('small', { class: 'muted' }, `${aicall.reference_type || 'text'} ${aicall.reference_id ?? ''}`)),
      transcript,
      streaming,
      h('div', { class: 'buttons' }, hangUp),
      form,
      feedback,
    );
    calls.prepend(card);
    const view: LiveCall = { aicall, card, status, transcript, streaming, pieces: new Map(), seen: new Set(), turns: 0, hangUp, send };
    live.set(aicall.id, view);
    showEmpty();
    return callView(aicall);
  }

  function addMessage(view: LiveCall, message: Aimessage): void {
    if (view.seen.has(message.id)) return;
    view.seen.add(message.id);
    if (message.role === 'assistant') {
      view.pieces.clear();
      view.streaming.textContent = '';
    }
    const entry = transcriptEntry(message, message.latency ? (view.turns += 1) : undefined);
    if (entry) view.transcript.append(entry);
  }

  function addPiece(view: LiveCall, piece: Piece): void {
    const pieces = view.pieces.get(piece.id) ?? [];
    if (pieces.some((known) => known.sequence === piece.sequence)) return;
    pieces.push(piece);
    pieces.sort((a, b) => a.sequence - b.sequence);
    view.pieces.set(piece.id, pieces);
    view.streaming.textContent = `AI: ${pieces.map((known) => known.content).join('')}`;
  }

  async function loadCall(id: string): Promise<LiveCall> {
    const view = live.get(id) ?? callView(await api<Aicall>('GET', `/v1.0/aicalls/${id}`));
    const messages = await listAll<Aimessage>(`/v1.0/aimessages?aicall_id=${id}`, 3);
    messages.sort((a, b) => a.tm_create.localeCompare(b.tm_create));
    for (const message of messages) addMessage(view, message);
    return view;
  }

  const loading = new Map<string, Promise<LiveCall>>();
  const viewOf = (id: string) => {
    const known = live.get(id);
    if (known) return Promise.resolve(known);
    let pending = loading.get(id);
    if (!pending) {
      pending = loadCall(id).finally(() => loading.delete(id));
      loading.set(id, pending);
    }
    return pending;
  };

  async function handle(event: Pushed): Promise<void> {
    if (event.type.startsWith('aicall_status_')) {
      const aicall = event.data as Aicall;
      if (!live.has(aicall.id) && aicall.status === 'terminated') return;
      callView(aicall);
      if (aicall.status === 'initiating' || aicall.status === 'progressing') await viewOf(aicall.id);
    } else if (event.type === 'aimessage_created') {
      const message = event.data as Aimessage;
      addMessage(await viewOf(message.aicall_id), message);
    } else if (event.type === 'aimessage_intermediate') {
      const piece = event.data as Piece;
      addPiece(await viewOf(piece.aicall_id), piece);
    }
  }

  // Subscribe first, then read what is live, so that no call starting in between is missed.
  let lastSeq: number | undefined;
  let retryMs = 500;
  const connect = () => {
    if (signal.aborted) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/v1.0/ws?token=${encodeURIComponent(storedKey() ?? '')}`);
    signal.addEventListener('abort', () => socket.close(1000, 'page closed'), { once: true });
    socket.addEventListener('open', () => {
      const topics = [`customer_id:${customer.id}:aicall`, `customer_id:${customer.id}:aimessage`];
      socket.send(JSON.stringify({ type: 'subscribe', topics, ...(lastSeq === undefined ? {} : { since: lastSeq }) }));
    });
    socket.addEventListener('message', (message) => {
      let event: Pushed;
      try {
        event = JSON.parse(String(message.data)) as Pushed;
      } catch {
        return;
      }
      if (event.type === 'subscribed') {
        retryMs = 500;
        connection.textContent = 'Connected: live AIcalls appear as they start.';
        connection.dataset.state = 'connected';
        return;
      }
      if (event.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
        return;
      }
      if (typeof event.seq === 'number') lastSeq = Math.max(lastSeq ?? 0, event.seq);
      handle(event).catch((error: unknown) => (connection.textContent = `Could not show an event: ${error instanceof Error ? error.message : String(error)}`));
    });
    socket.addEventListener('close', (closed) => {
      if (signal.aborted) return;
      if (closed.code === 1008) {
        // The key was revoked (or never valid): reconnecting cannot help.
        connection.textContent = `Disconnected: ${closed.reason || 'the access key was refused'}. Sign in again.`;
        connection.dataset.state = 'refused';
        return;
      }
      connection.textContent = 'Disconnected: reconnecting ...';
      connection.dataset.state = 'reconnecting';
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10_000);
    });
  };
  connect();

  const current = [...(await listAll<Aicall>('/v1.0/aicalls?status=initiating', 1)), ...(await listAll<Aicall>('/v1.0/aicalls?status=progressing', 2))];
  for (const aicall of current) await viewOf(aicall.id);
  showEmpty();
}
