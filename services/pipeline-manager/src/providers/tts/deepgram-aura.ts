import { DeepgramClient } from '@deepgram/sdk';
import { Pcm16Decoder } from '../audio.ts';
import { EventChannel } from '../event-channel.ts';
import { ProviderError } from '../provider-error.ts';
import { toWebSocketUrl } from '../stt/deepgram.ts';
import type { TtsEvent, TtsOptions, TtsProvider, TtsSession } from '../types.ts';

export interface DeepgramAuraOptions {
  apiKey: string;
  /** HTTP base (`https://api.deepgram.com`); the socket uses its ws/wss form. */
  baseUrl: string;
  /** Voice model when the AI names none. */
  defaultVoice?: string;
}

/**
 * Deepgram Aura through `@deepgram/sdk`'s speak WebSocket (`/v1/speak`): each pushed text is
 * `Speak` + `Flush`, and the matching `Flushed` ends that text; linear16 at 16 kHz, so no
 * resampling. `voiceId` is the Aura model name (`aura-2-thalia-en`).
 */
export function createDeepgramAuraTts(options: DeepgramAuraOptions): TtsProvider {
  const socketBase = toWebSocketUrl(options.baseUrl);
  const client = new DeepgramClient({
    apiKey: options.apiKey,
    environment: { base: options.baseUrl, production: socketBase, agent: socketBase, agentRest: options.baseUrl },
  });
  return {
    name: 'deepgram',
    open(session: TtsOptions): TtsSession {
      const channel = new EventChannel<TtsEvent>();
      const outbox: Array<{ type: 'Speak'; text: string } | { type: 'Flush' } | { type: 'Close' }> = [];
      let texts = 0;
      let current = 0;
      let ended = false;
      let socket: Awaited<ReturnType<typeof client.speak.v1.connect>> | undefined;
      let open = false;
      const decoder = new Pcm16Decoder();
      // Binary frames arrive as Blobs (read asynchronously): one chain keeps them in order.
      let chain: Promise<void> = Promise.resolve();
      const send = (message: (typeof outbox)[number]) => {
        if (!socket || !open) return void outbox.push(message);
        if (message.type === 'Speak') socket.sendText(message);
        else if (message.type === 'Flush') socket.sendFlush(message);
        else socket.sendClose(message);
      };
      const finishIfDone = () => {
        if (ended && current >= texts) {
          channel.close();
          socket?.close();
        }
      };
      const onAbort = () => {
        socket?.close();
        channel.fail(session.signal?.reason);
      };
      const connect = async () => {
        socket = await client.speak.v1.connect({
          model: session.voiceId || options.defaultVoice || 'aura-2-thalia-en',
          encoding: 'linear16',
          sample_rate: '16000',
          Authorization: `Token ${options.apiKey}`,
          reconnectAttempts: 0,
          abortSignal: session.signal,
        });
        socket.on('message', (message) => {
          chain = chain.then(async () => {
            if (message instanceof Blob) {
              const pcm = decoder.decode(new Uint8Array(await message.arrayBuffer()));
              if (pcm.length > 0) channel.push({ type: 'audio', pcm, textIndex: Math.min(current, texts - 1) });
              return;
            }
            const data = (typeof message === 'string' ? { type: 'Text' } : message) as { type?: string; description?: string };
            if (data.type === 'Flushed') {
              channel.push({ type: 'text-end', textIndex: current });
              current++;
              finishIfDone();
            } else if (data.type === 'Error') {
              channel.fail(new ProviderError('bad_request', `deepgram: ${data.description ?? 'error'}`, { provider: 'deepgram' }));
            }
          });
        });
        socket.on('close', (event) => {
          session.signal?.removeEventListener('abort', onAbort);
          void chain.then(() => {
            const code = (event as { code?: number }).code ?? 1000;
            if (channel.isClosed) return;
            if (code === 1000 || code === 1005) return channel.close();
            const category = code === 1008 ? 'bad_request' : 'server';
            channel.fail(new ProviderError(category, `deepgram closed the connection (${code})`, { provider: 'deepgram', status: code }));
          });
        });
        socket.on('error', (error) => channel.fail(error));
        socket.connect();
        await socket.waitForOpen();
        if (channel.isClosed) return socket.close(); // ended (or aborted) while connecting
        open = true;
        for (const message of outbox.splice(0)) send(message);
      };
      connect().catch((error: unknown) => {
        socket?.close();
        channel.fail(error);
      });
      session.signal?.addEventListener('abort', onAbort, { once: true });
      return {
        push(text: string): number {
          send({ type: 'Speak', text });
          send({ type: 'Flush' });
          channel.push({ type: 'usage', characters: text.length });
          return texts++;
        },
        end(): void {
          ended = true;
          finishIfDone();
        },
        events: channel,
      };
    },
  };
}
