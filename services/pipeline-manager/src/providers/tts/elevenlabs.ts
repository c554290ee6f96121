import WebSocket from 'ws';
import { base64ToBytes, Pcm16Decoder } from '../audio.ts';
import { EventChannel } from '../event-channel.ts';
import { categoryForStatus, ProviderError } from '../provider-error.ts';
import type { TtsEvent, TtsOptions, TtsProvider, TtsSession } from '../types.ts';

export interface ElevenLabsOptions {
  apiKey: string;
  /** HTTP base (`https://api.elevenlabs.io`); the socket uses its ws/wss form. */
  baseUrl: string;
  /** Default `eleven_flash_v2_5` (lowest latency). */
  model?: string;
  /** Used when the AI names no voice. */
  defaultVoiceId?: string;
}

interface ElevenLabsMessage {
  audio?: string | null;
  isFinal?: boolean | null;
  alignment?: { chars?: string[] } | null;
  normalizedAlignment?: { chars?: string[] } | null;
  error?: string;
  message?: string;
}

const nonSpace = (text: string) => text.replace(/\s+/g, '').length;

/**
 * ElevenLabs WebSocket stream-input (`/v1/text-to-speech/{voice}/stream-input`), spoken
 * directly with `ws` (the SDK has types but no client for it). Each pushed text is sent
 * with `flush: true` so it is spoken at once; `output_format=pcm_16000` needs no resampling.
 * Which text an audio chunk belongs to is tracked from the character alignment ElevenLabs
 * returns; `text-end` for the remaining texts comes with `isFinal`.
 */
export function createElevenLabsTts(options: ElevenLabsOptions): TtsProvider {
  const socketBase = options.baseUrl.replace(/^http(s?):\/\//, 'ws$1://').replace(/\/$/, '');
  return {
    name: 'elevenlabs',
    open(session: TtsOptions): TtsSession {
      const voice = session.voiceId || options.defaultVoiceId || 'JBFqnCBsd6RMkjVDRZzb';
      const query = new URLSearchParams({ model_id: options.model ?? 'eleven_flash_v2_5', output_format: 'pcm_16000' });
      if (session.language) query.set('language_code', session.language.split('-')[0]!.toLowerCase());
      const url = `${socketBase}/v1/text-to-speech/${encodeURIComponent(voice)}/stream-input?${query}`;
      const channel = new EventChannel<TtsEvent>();
      const texts: string[] = [];
      const outbox: string[] = [];
      let ended = false;
      let current = 0; // text the incoming audio belongs to
      let alignedInCurrent = 0;
      const decoder = new Pcm16Decoder();
      const socket = new WebSocket(url, { headers: { 'xi-api-key': options.apiKey } });
      const send = (message: object) => {
        const text = JSON.stringify(message);
        if (socket.readyState === WebSocket.OPEN) socket.send(text);
        else outbox.push(text);
      };
      const endTextsThrough = (last: number) => {
        while (current <= last && current < texts.length) {
          channel.push({ type: 'text-end', textIndex: current });
          current++;
          alignedInCurrent = 0;
        }
      };
      socket.on('unexpected-response', (_request, response) => {
        const status = response.statusCode ?? 0;
        channel.fail(new ProviderError(categoryForStatus(status) ?? 'server', `elevenlabs: handshake answered ${status}`, { provider: 'elevenlabs', status }));
        socket.terminate();
      });
      socket.on('open', () => {
        // The first message opens the stream: a single space, then the real text.
        socket.send(JSON.stringify({ text: ' ' }));
        for (const text of outbox.splice(0)) socket.send(text);
      });
      socket.on('message', (data: Buffer) => {
        let message: ElevenLabsMessage;
        try {
          message = JSON.parse(data.toString('utf8')) as ElevenLabsMessage;
        } catch {
          return;
        }
        if (message.error || (message.message && !message.audio)) {
          const text = `${message.error ?? ''} ${message.message ?? ''}`;
          const category = /auth|api key|unauthori/i.test(text) ? 'auth' : /quota|credits/i.test(text) ? 'quota' : 'bad_request';
          channel.fail(new ProviderError(category, `elevenlabs: ${text.trim()}`, { provider: 'elevenlabs' }));
          socket.close();
          return;
        }
        if (message.audio) {
          const pcm = decoder.decode(base64ToBytes(message.audio));
          if (pcm.length > 0) channel.push({ type: 'audio', pcm, textIndex: Math.min(current, texts.length - 1) });
          const chars = (message.alignment ?? message.normalizedAlignment)?.chars;
          if (chars) {
            alignedInCurrent += nonSpace(chars.join(''));
            while (current < texts.length && alignedInCurrent >= nonSpace(texts[current]!)) {
              const overflow = alignedInCurrent - nonSpace(texts[current]!);
              endTextsThrough(current);
              alignedInCurrent = overflow;
            }
          }
        }
        if (message.isFinal) {
          endTextsThrough(texts.length - 1);
          socket.close(1000);
        }
      });
      socket.on('close', (code, reason) => {
        session.signal?.removeEventListener('abort', onAbort);
        if (channel.isClosed) return;
        if (code === 1000 || code === 1005) {
          endTextsThrough(texts.length - 1);
          channel.close();
          return;
        }
        // ElevenLabs closes with 1008 on bad keys or input, 1011 on its own failures.
        const category = code === 1008 ? (/auth|key/i.test(reason.toString()) ? 'auth' : 'bad_request') : 'server';
        channel.fail(new ProviderError(category, `elevenlabs closed the connection (${code} ${reason.toString()})`, { provider: 'elevenlabs', status: code }));
      });
      socket.on('error', (error) => channel.fail(error));
      const onAbort = () => {
        socket.terminate();
        channel.fail(session.signal?.reason);
      };
      session.signal?.addEventListener('abort', onAbort, { once: true });
      return {
        push(text: string): number {
          texts.push(text);
          channel.push({ type: 'usage', characters: text.length });
          send({ text: text.endsWith(' ') ? text : `${text} `, flush: true });
          return texts.length - 1;
        },
        end(): void {
          if (ended) return;
          ended = true;
          // An empty text closes the stream after the remaining audio.
          send({ text: '' });
        },
        events: channel,
      };
    },
  };
}
