import WebSocket from 'ws';
import { base64ToBytes, Pcm16Decoder } from '../audio.ts';
import { EventChannel } from '../event-channel.ts';
import { categoryForStatus, ProviderError } from '../provider-error.ts';
import { CARTESIA_VERSION } from '../stt/cartesia.ts';
import type { TtsEvent, TtsOptions, TtsProvider, TtsSession } from '../types.ts';

export interface CartesiaTtsOptions {
  apiKey: string;
  /** HTTP base (`https://api.cartesia.ai`); the socket uses its ws/wss form. */
  baseUrl: string;
  /** Default `sonic-2`. */
  model?: string;
  defaultVoiceId?: string;
  version?: string;
}

interface CartesiaTtsMessage {
  type?: string;
  context_id?: string;
  data?: string;
  done?: boolean;
  error?: string;
  status_code?: number;
}

/**
 * Cartesia Sonic over its TTS WebSocket (`/tts/websocket`): raw `pcm_s16le` at 16 kHz.
 * Each pushed text is its own generation context (`<session>-<index>`), so `done` for a
 * context is exactly the end of that text; contexts may be generated concurrently, and
 * audio is released strictly in text order.
 */
export function createCartesiaTts(options: CartesiaTtsOptions): TtsProvider {
  const socketBase = options.baseUrl.replace(/^http(s?):\/\//, 'ws$1://').replace(/\/$/, '');
  let sessions = 0;
  return {
    name: 'cartesia',
    open(session: TtsOptions): TtsSession {
      const sessionId = `s${Date.now().toString(36)}${(sessions++).toString(36)}`;
      const socket = new WebSocket(`${socketBase}/tts/websocket`, {
        headers: { 'X-API-Key': options.apiKey, 'Cartesia-Version': options.version ?? CARTESIA_VERSION },
      });
      const channel = new EventChannel<TtsEvent>();
      const outbox: string[] = [];
      // Per text: audio waiting for its turn, and whether Cartesia said done.
      const texts: Array<{ decoder: Pcm16Decoder; pending: Int16Array[]; done: boolean }> = [];
      let released = 0; // first text not yet ended
      let ended = false;
      const drain = () => {
        while (released < texts.length) {
          const text = texts[released]!;
          for (const pcm of text.pending.splice(0)) channel.push({ type: 'audio', pcm, textIndex: released });
          if (!text.done) break;
          channel.push({ type: 'text-end', textIndex: released });
          released++;
        }
        if (ended && released === texts.length && !channel.isClosed) {
          channel.close();
          socket.close(1000);
        }
      };
      const send = (message: object) => {
        const text = JSON.stringify(message);
        if (socket.readyState === WebSocket.OPEN) socket.send(text);
        else outbox.push(text);
      };
      socket.on('unexpected-response', (_request, response) => {
        const status = response.statusCode ?? 0;
        channel.fail(new ProviderError(categoryForStatus(status) ?? 'server', `cartesia: handshake answered ${status}`, { provider: 'cartesia', status }));
        socket.terminate();
      });
      socket.on('open', () => {
        for (const text of outbox.splice(0)) socket.send(text);
      });
      socket.on('message', (data: Buffer) => {
        let message: CartesiaTtsMessage;
        try {
          message = JSON.parse(data.toString('utf8')) as CartesiaTtsMessage;
        } catch {
          return;
        }
        const index = Number(message.context_id?.split('-').at(-1));
        const text = message.context_id?.startsWith(`${sessionId}-`) ? texts[index] : undefined;
        if (message.type === 'error') {
          const category = (message.status_code !== undefined ? categoryForStatus(message.status_code) : undefined) ?? 'bad_request';
          channel.fail(new ProviderError(category, `cartesia: ${message.error ?? 'error'}`, { provider: 'cartesia', status: message.status_code }));
          socket.close();
          return;
        }
        if (!text) return;
        if (message.type === 'chunk' && message.data) {
          const pcm = text.decoder.decode(base64ToBytes(message.data));
          if (pcm.length > 0) text.pending.push(pcm);
        }
        if (message.type === 'done' || message.done) text.done = true;
        drain();
      });
      socket.on('close', (code, reason) => {
        session.signal?.removeEventListener('abort', onAbort);
        if (channel.isClosed) return;
        if (code === 1000 || code === 1005) {
          drain();
          return channel.close();
        }
        channel.fail(new ProviderError(code === 1008 ? 'bad_request' : 'server', `cartesia closed the connection (${code} ${reason.toString()})`, { provider: 'cartesia', status: code }));
      });
      socket.on('error', (error) => channel.fail(error));
      const onAbort = () => {
        socket.terminate();
        channel.fail(session.signal?.reason);
      };
      session.signal?.addEventListener('abort', onAbort, { once: true });
      return {
        push(text: string): number {
          const index = texts.length;
          texts.push({ decoder: new Pcm16Decoder(), pending: [], done: false });
          channel.push({ type: 'usage', characters: text.length });
          send({
            model_id: options.model ?? 'sonic-2',
            transcript: text,
            voice: { mode: 'id', id: session.voiceId || options.defaultVoiceId || 'a0e99841-438c-4a64-b679-ae501e7d6091' },
            ...(session.language ? { language: session.language.split('-')[0]!.toLowerCase() } : {}),
            context_id: `${sessionId}-${index}`,
            output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: 16_000 },
            continue: false,
          });
          return index;
        },
        end(): void {
          ended = true;
          drain();
        },
        events: channel,
      };
    },
  };
}
