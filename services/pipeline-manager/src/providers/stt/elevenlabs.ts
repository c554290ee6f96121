import { AudioFormat, CommitStrategy, ElevenLabsClient, RealtimeEvents, type RealtimeConnection } from '@elevenlabs/elevenlabs-js';
import { EventChannel } from '../event-channel.ts';
import { ProviderError, type ProviderErrorCategory } from '../provider-error.ts';
import type { SttEvent, SttProvider, SttSession, SttStartOptions } from '../types.ts';

export interface ElevenLabsSttOptions {
  apiKey: string;
  /** HTTP base (`https://api.elevenlabs.io`); the SDK derives the ws/wss URL. */
  baseUrl: string;
  /** Default `scribe_v2_realtime`. */
  model?: string;
  /** Silence (seconds) after which ElevenLabs commits a segment (0.3-3). */
  vadSilenceSeconds?: number;
}

/** ElevenLabs realtime error `message_type`s and what they mean for us. */
const errorCategories: Record<string, ProviderErrorCategory> = {
  auth_error: 'auth',
  unaccepted_terms_error: 'auth',
  quota_exceeded: 'quota',
  rate_limited: 'rate_limit',
  commit_throttled: 'rate_limit',
  input_error: 'bad_request',
  invalid_request: 'bad_request',
  chunk_size_exceeded: 'bad_request',
  insufficient_audio_activity: 'bad_request',
  session_time_limit_exceeded: 'bad_request',
  transcriber_error: 'server',
  queue_overflow: 'server',
  resource_exhausted: 'server',
  error: 'server',
};

/**
 * ElevenLabs Scribe realtime through `@elevenlabs/elevenlabs-js` (`speechToText.realtime`,
 * WebSocket `/v1/speech-to-text/realtime`): base64 PCM chunks in, partial and committed
 * transcripts out. The VAD commit strategy makes each committed transcript a final and an
 * endpoint. Language '' lets Scribe detect it; the detected language is not reported.
 */
export function createElevenLabsStt(options: ElevenLabsSttOptions): SttProvider {
  const client = new ElevenLabsClient({ apiKey: options.apiKey, baseUrl: options.baseUrl, maxRetries: 0 });
  return {
    name: 'elevenlabs',
    async start(start: SttStartOptions): Promise<SttSession> {
      const connection: RealtimeConnection = await client.speechToText.realtime.connect({
        modelId: options.model ?? 'scribe_v2_realtime',
        audioFormat: start.sampleRate === 16_000 ? AudioFormat.PCM_16000 : AudioFormat.PCM_8000,
        sampleRate: start.sampleRate,
        commitStrategy: CommitStrategy.VAD,
        ...(options.vadSilenceSeconds ? { vadSilenceThresholdSecs: options.vadSilenceSeconds } : {}),
        ...(start.language ? { languageCode: start.language.split('-')[0]!.toLowerCase() } : {}),
      });
      const channel = new EventChannel<SttEvent>();
      const language = start.language || undefined;
      let samples = 0;
      let finishing = false;
      let usageReported = false;
      const reportUsage = () => {
        if (!usageReported) channel.push({ type: 'usage', audioSeconds: samples / start.sampleRate });
        usageReported = true;
      };
      const onAbort = () => {
        reportUsage();
        channel.fail(start.signal?.reason);
        connection.close();
      };
      let cleanupStart = () => {};
      await new Promise<void>((resolve, reject) => {
        const rejectStart = (error: unknown) => reject(error);
        connection.on(RealtimeEvents.OPEN, () => {
          connection.off(RealtimeEvents.ERROR, rejectStart);
          resolve();
        });
        connection.on(RealtimeEvents.ERROR, rejectStart);
        if (start.signal?.aborted) reject(start.signal.reason);
        start.signal?.addEventListener('abort', abortStart, { once: true });
        function abortStart() {
          reject(start.signal?.reason);
        }
        cleanupStart = () => start.signal?.removeEventListener('abort', abortStart);
      })
        .catch((error: unknown) => {
          connection.close();
          throw error;
        })
        .finally(() => cleanupStart());
      start.signal?.addEventListener('abort', onAbort, { once: true });
      connection.on(RealtimeEvents.PARTIAL_TRANSCRIPT, (data) => {
        if (data.text) channel.push({ type: 'interim', text: data.text, language });
      });
      connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT, (data) => {
        if (data.text) channel.push({ type: 'final', text: data.text, language });
        channel.push({ type: 'endpoint' });
        if (finishing) connection.close();
      });
      connection.on(RealtimeEvents.ERROR, (error) => {
        const data = error as { message_type?: string; error?: string };
        if (typeof data.message_type === 'string') {
          const category = errorCategories[data.message_type] ?? 'server';
          channel.push({ type: 'error', error: new ProviderError(category, `elevenlabs: ${data.message_type} ${data.error ?? ''}`.trim(), { provider: 'elevenlabs' }) });
          channel.close();
          connection.close();
        } else {
          channel.fail(error);
        }
      });
      connection.on(RealtimeEvents.CLOSE, () => {
        start.signal?.removeEventListener('abort', onAbort);
        reportUsage();
        channel.close();
      });
      return {
        write(pcm) {
          if (channel.isClosed || finishing) return;
          samples += pcm.length;
          connection.send({ audioBase64: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64') });
        },
        async finish() {
          if (channel.isClosed || finishing) return;
          // Commit what is pending; the session closes after that commit's transcript.
          finishing = true;
          connection.commit();
        },
        close() {
          reportUsage();
          channel.close();
          connection.close();
        },
        events: channel,
      };
    },
  };
}
