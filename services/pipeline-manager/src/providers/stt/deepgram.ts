import { DeepgramClient } from '@deepgram/sdk';
import { EventChannel } from '../event-channel.ts';
import { ProviderError, categoryForStatus } from '../provider-error.ts';
import type { SttEvent, SttProvider, SttSession, SttStartOptions } from '../types.ts';

export interface DeepgramSttOptions {
  apiKey: string;
  /** HTTP base (`https://api.deepgram.com`); the socket uses the ws/wss form of it. */
  baseUrl: string;
  model?: string;
  /** Silence (ms) after which Deepgram marks `speech_final`. */
  endpointingMs?: number;
  /** Gap (ms) after the last word for an `UtteranceEnd` message. */
  utteranceEndMs?: number;
}

/** `https://x` -> `wss://x`, `http://x` -> `ws://x`. */
export function toWebSocketUrl(baseUrl: string): string {
  return baseUrl.replace(/^http(s?):\/\//, 'ws$1://');
}

interface DeepgramResults {
  type: 'Results';
  is_final?: boolean;
  speech_final?: boolean;
  channel?: { alternatives?: Array<{ transcript?: string; confidence?: number; languages?: string[] }> };
}

/**
 * Deepgram live transcription through `@deepgram/sdk` (WebSocket `/v1/listen`): interim
 * and final results, one `endpoint` per utterance (at `speech_final`, or at `UtteranceEnd` when
 * noise kept `speech_final` from coming), language '' -> `multi`
 * (Nova-3 code switching, languages reported per result).
 */
export function createDeepgramStt(options: DeepgramSttOptions): SttProvider {
  const socketBase = toWebSocketUrl(options.baseUrl);
  const client = new DeepgramClient({
    apiKey: options.apiKey,
    environment: { base: options.baseUrl, production: socketBase, agent: socketBase, agentRest: options.baseUrl },
  });
  return {
    name: 'deepgram',
    async start(start: SttStartOptions): Promise<SttSession> {
      const socket = await client.listen.v1.connect({
        model: options.model ?? 'nova-3',
        language: start.language || 'multi',
        encoding: 'linear16',
        sample_rate: start.sampleRate,
        channels: 1,
        interim_results: 'true',
        punctuate: 'true',
        smart_format: 'true',
        vad_events: 'true',
        endpointing: options.endpointingMs ?? 300,
        utterance_end_ms: options.utteranceEndMs ?? 1000,
        Authorization: `Token ${options.apiKey}`,
        reconnectAttempts: 0,
        abortSignal: start.signal,
      });
      const channel = new EventChannel<SttEvent>();
      let samplesWritten = 0;
      let usageReported = false;
      const reportUsage = () => {
        if (usageReported) return;
        usageReported = true;
        channel.push({ type: 'usage', audioSeconds: samplesWritten / start.sampleRate });
      };
      // An endpoint is reported once per utterance that produced final text.
      let utteranceOpen = false;
      const endUtterance = () => {
        if (!utteranceOpen) return;
        utteranceOpen = false;
        channel.push({ type: 'endpoint' });
      };
      socket.on('message', (message) => {
        const data = message as unknown as { type?: string; err_code?: string; err_msg?: string; description?: string };
        if (data.type === 'Results') {
          const results = message as unknown as DeepgramResults;
          const alternative = results.channel?.alternatives?.[0];
          const text = alternative?.transcript ?? '';
          const language = alternative?.languages?.[0] ?? (start.language || undefined);
          if (text) {
            channel.push({ type: results.is_final ? 'final' : 'interim', text, language, confidence: alternative?.confidence });
            if (results.is_final) utteranceOpen = true;
          }
          if (results.speech_final) endUtterance();
        } else if (data.type === 'UtteranceEnd') {
          // Sent after speech_final too; only the first of the two ends the utterance.
          endUtterance();
        } else if (data.type === 'Error') {
          channel.push({ type: 'error', error: new ProviderError('bad_request', `deepgram: ${data.description ?? data.err_msg ?? 'error'}`, { provider: 'deepgram' }) });
        }
      });
      const onAbort = () => {
        reportUsage(); // the audio sent so far is billed even when the call ends
        channel.fail(start.signal?.reason);
        socket.close();
      };
      socket.on('close', (event) => {
        start.signal?.removeEventListener('abort', onAbort);
        reportUsage();
        // The SDK closes the socket on abort itself, possibly before our listener runs.
        if (start.signal?.aborted) return channel.fail(start.signal.reason);
        const code = (event as { code?: number }).code ?? 1000;
        if (code !== 1000 && code !== 1005) {
          // Deepgram closes with 1008 (bad audio / DATA-0000), 1011 (server), 4xxx (its own).
          const category = code === 1008 ? 'bad_request' : code >= 4000 ? (categoryForStatus(code - 3600) ?? 'server') : 'server';
          channel.fail(new ProviderError(category, `deepgram closed the connection (${code} ${(event as { reason?: string }).reason ?? ''})`, { provider: 'deepgram', status: code }));
          return;
        }
        channel.close();
      });
      socket.on('error', (error) => channel.fail(error));
      // The SDK returns the socket unconnected so that handlers are in place first.
      socket.connect();
      try {
        await socket.waitForOpen();
      } catch (error) {
        socket.close();
        throw error;
      }
      start.signal?.addEventListener('abort', onAbort, { once: true });
      return {
        write(pcm) {
          if (channel.isClosed) return;
          samplesWritten += pcm.length;
          socket.sendMedia(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
        },
        async finish() {
          if (channel.isClosed) return;
          // CloseStream: Deepgram sends the remaining results and metadata, then closes.
          socket.sendCloseStream({ type: 'CloseStream' });
        },
        close() {
          reportUsage();
          socket.close();
          channel.close();
        },
        events: channel,
      };
    },
  };
}
