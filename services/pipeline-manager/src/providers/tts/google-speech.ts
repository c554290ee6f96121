import { base64ToBytes, linearResamplerFactory, Pcm16Decoder, parseWavHeader, type ResamplerFactory } from '../audio.ts';
import { errorFromResponse } from '../provider-error.ts';
import { PIPELINE_SAMPLE_RATE, type TtsProvider } from '../types.ts';
import { createSequentialTtsSession } from './sequential-session.ts';

export interface GoogleSpeechOptions {
  apiKey: string;
  /** `https://texttospeech.googleapis.com`. */
  baseUrl: string;
  resample?: ResamplerFactory;
}

/**
 * Google Cloud Text-to-Speech over REST (`/v1/text:synthesize`, LINEAR16 at 16 kHz). The
 * API answers each text whole (not streamed), so the first audio of a text waits for all
 * of it. `voiceId` is a voice name (`en-US-Neural2-F`); '' lets Google choose by language.
 */
export function createGoogleSpeechTts(options: GoogleSpeechOptions): TtsProvider {
  const url = `${options.baseUrl.replace(/\/$/, '')}/v1/text:synthesize`;
  const makeResampler = options.resample ?? linearResamplerFactory;
  return {
    name: 'google',
    open(session) {
      const voice = { languageCode: session.language || 'en-US', ...(session.voiceId ? { name: session.voiceId } : {}) };
      return createSequentialTtsSession(session, async function* (text, signal) {
        const response = await fetch(url, {
          method: 'POST',
          signal,
          headers: { 'X-Goog-Api-Key': options.apiKey, 'Content-Type': 'application/json' },
          body: JSON.stringify({ input: { text }, voice, audioConfig: { audioEncoding: 'LINEAR16', sampleRateHertz: PIPELINE_SAMPLE_RATE } }),
        });
        if (!response.ok) throw await errorFromResponse(response, 'google');
        const { audioContent } = (await response.json()) as { audioContent?: string };
        if (!audioContent) return;
        const bytes = base64ToBytes(audioContent);
        // LINEAR16 comes with a WAV header; the rate is checked rather than assumed.
        const header = parseWavHeader(bytes);
        const pcm = new Pcm16Decoder().decode(header ? bytes.subarray(header.dataOffset) : bytes);
        const rate = header?.sampleRate ?? PIPELINE_SAMPLE_RATE;
        if (rate === PIPELINE_SAMPLE_RATE) {
          yield pcm;
          return;
        }
        const resampler = await makeResampler(rate, PIPELINE_SAMPLE_RATE);
        try {
          yield resampler.process(pcm);
        } finally {
          resampler.destroy?.();
        }
      });
    },
  };
}
