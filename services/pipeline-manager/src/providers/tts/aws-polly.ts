import { PollyClient, SynthesizeSpeechCommand, type VoiceId } from '@aws-sdk/client-polly';
import { Pcm16Decoder } from '../audio.ts';
import { PIPELINE_SAMPLE_RATE, type TtsProvider } from '../types.ts';
import { createSequentialTtsSession } from './sequential-session.ts';

export interface AwsPollyOptions {
  region: string;
  /** Explicit credentials; without them the AWS default chain is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Endpoint override (a proxy, a test server). */
  baseUrl?: string;
  /** `neural` (default), `standard`, `long-form`, `generative`. */
  engine?: 'neural' | 'standard' | 'long-form' | 'generative';
}

/**
 * Amazon Polly through `@aws-sdk/client-polly` (`SynthesizeSpeech`, `pcm` at 16 kHz, so no
 * resampling; the audio streams as it is produced). One request per text. `voiceId` is a
 * Polly voice (`Joanna`, `Vicki`); `language` is passed as Polly's `LanguageCode`.
 */
export function createAwsPollyTts(options: AwsPollyOptions): TtsProvider {
  const client = new PollyClient({
    region: options.region,
    maxAttempts: 1,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.baseUrl ? { endpoint: options.baseUrl } : {}),
  });
  return {
    name: 'aws',
    open(session) {
      return createSequentialTtsSession(session, async function* (text, signal) {
        const response = await client.send(
          new SynthesizeSpeechCommand({
            Text: text,
            VoiceId: (session.voiceId || 'Joanna') as VoiceId,
            OutputFormat: 'pcm',
            SampleRate: String(PIPELINE_SAMPLE_RATE),
            Engine: options.engine ?? 'neural',
            ...(session.language ? { LanguageCode: session.language as never } : {}),
          }),
          { abortSignal: signal },
        );
        if (!response.AudioStream) return;
        const decoder = new Pcm16Decoder();
        for await (const chunk of response.AudioStream as AsyncIterable<Uint8Array>) {
          const pcm = decoder.decode(chunk);
          if (pcm.length > 0) yield pcm;
        }
      });
    },
  };
}
