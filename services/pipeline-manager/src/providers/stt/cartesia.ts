import WebSocket from 'ws';
import { EventChannel } from '../event-channel.ts';
import { categoryForStatus, ProviderError } from '../provider-error.ts';
import type { SttEvent, SttProvider, SttSession, SttStartOptions } from '../types.ts';

export interface CartesiaSttOptions {
  apiKey: string;
  /** HTTP base (`https://api.cartesia.ai`); the socket uses its ws/wss form. */
  baseUrl: string;
  /** Default `ink-whisper`. */
  model?: string;
  /** API version header. */
  version?: string;
}

export const CARTESIA_VERSION = '2025-04-16';

interface CartesiaSttMessage {
  type?: string;
  text?: string;
  is_final?: boolean;
  language?: string;
  message?: string;
  error?: string;
  status_code?: number;
}

/**
 * Cartesia streaming STT (`/stt/websocket`, Ink): binary PCM in, JSON transcripts out.
 * `is_final` transcripts are finals and, since Cartesia finalizes on silence, endpoints
 * too. `finish` sends `finalize` then `done`; the session ends on the `done` reply.
 * Language '' leaves the choice to Cartesia (no `language` parameter).
 */
export function createCartesiaStt(options: CartesiaSttOptions): SttProvider {
  const socketBase = options.baseUrl.replace(/^http(s?):\/\//, 'ws$1://').replace(/\/$/, '');
  return {
    name: 'cartesia',
    start(start: SttStartOptions): Promise<SttSession> {
      const query = new URLSearchParams({ model: options.model ?? 'ink-whisper', encoding: 'pcm_s16le', sample_rate: String(start.sampleRate) });
      if (start.language) query.set('language', start.language.split('-')[0]!.toLowerCase());
      const socket = new WebSocket(`${socketBase}/stt/websocket?${query}`, {
        headers: { 'X-API-Key': options.apiKey, 'Cartesia-Version': options.version ?? CARTESIA_VERSION },
      });
      const channel = new EventChannel<SttEvent>();
      let samples = 0;
      let usageReported = false;
      const reportUsage = () => {
        if (!usageReported) channel.push({ type: 'usage', audioSeconds: samples / start.sampleRate });
        usageReported = true;
      };
      // Before the socket opens the abort rejects `start`; after, it ends the events.
      let rejectStart: ((reason: unknown) => void) | undefined;
      const onAbort = () => {
        socket.terminate();
        rejectStart?.(start.signal?.reason);
        channel.fail(start.signal?.reason);
      };
      start.signal?.addEventListener('abort', onAbort, { once: true });
      return new Promise<SttSession>((resolve, reject) => {
        rejectStart = reject;
        socket.on('unexpected-response', (_request, response) => {
          const status = response.statusCode ?? 0;
          socket.terminate();
          reject(new ProviderError(categoryForStatus(status) ?? 'server', `cartesia: handshake answered ${status}`, { provider: 'cartesia', status }));
        });
        socket.on('error', (error) => {
          reject(error);
          channel.fail(error);
        });
        socket.on('message', (data: Buffer) => {
          let message: CartesiaSttMessage;
          try {
            message = JSON.parse(data.toString('utf8')) as CartesiaSttMessage;
          } catch {
            return;
          }
          if (message.type === 'transcript') {
            if (message.text) {
              channel.push({ type: message.is_final ? 'final' : 'interim', text: message.text, language: message.language ?? (start.language || undefined) });
            }
            if (message.is_final) channel.push({ type: 'endpoint' });
          } else if (message.type === 'done') {
            reportUsage();
            channel.close();
            socket.close(1000);
          } else if (message.type === 'error') {
            const status = message.status_code;
            const category = (status !== undefined ? categoryForStatus(status) : undefined) ?? 'bad_request';
            channel.push({ type: 'error', error: new ProviderError(category, `cartesia: ${message.message ?? message.error ?? 'error'}`, { provider: 'cartesia', status }) });
            channel.close();
            socket.close();
          }
        });
        socket.on('close', (code, reason) => {
          start.signal?.removeEventListener('abort', onAbort);
          if (channel.isClosed) return;
          reportUsage();
          if (code === 1000 || code === 1005) return channel.close();
          channel.fail(new ProviderError(code === 1008 ? 'bad_request' : 'server', `cartesia closed the connection (${code} ${reason.toString()})`, { provider: 'cartesia', status: code }));
        });
        socket.on('open', () => {
          rejectStart = undefined;
          resolve({
            write(pcm) {
              if (channel.isClosed || socket.readyState !== WebSocket.OPEN) return;
              samples += pcm.length;
              socket.send(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
            },
            async finish() {
              if (socket.readyState !== WebSocket.OPEN) return;
              socket.send('finalize');
              socket.send('done');
            },
            close() {
              reportUsage();
              channel.close();
              socket.close(1000);
            },
            events: channel,
          });
        });
        if (start.signal?.aborted) {
          socket.terminate();
          reject(start.signal.reason);
        }
      });
    },
  };
}
