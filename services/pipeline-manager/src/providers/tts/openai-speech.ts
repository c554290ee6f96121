import OpenAI from 'openai';
import { linearResamplerFactory, Pcm16Decoder, type ResamplerFactory } from '../audio.ts';
import { PIPELINE_SAMPLE_RATE, type TtsProvider } from '../types.ts';
import { createSequentialTtsSession } from './sequential-session.ts';

export interface OpenAiSpeechOptions {
  apiKey: string;
  baseUrl: string;
  /** `gpt-4o-mini-tts` (default), `tts-1`, ... */
  model?: string;
  /** Used when the AI names no voice. */
  defaultVoice?: string;
  resample?: ResamplerFactory;
}

/** The `pcm` format of `/v1/audio/speech`: 24 kHz, 16-bit, mono, little-endian. */
const OPENAI_PCM_RATE = 24_000;

/** OpenAI speech (`/v1/audio/speech`, streamed raw PCM) through the `openai` SDK, resampled to 16 kHz. */
export function createOpenAiSpeechTts(options: OpenAiSpeechOptions): TtsProvider {
  const client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseUrl, maxRetries: 0 });
  const makeResampler = options.resample ?? linearResamplerFactory;
  return {
    name: 'openai',
    open(session) {
      const voice = session.voiceId || options.defaultVoice || 'alloy';
      return createSequentialTtsSession(session, async function* (text, signal) {
        const response = await client.audio.speech.create(
          { model: options.model ?? 'gpt-4o-mini-tts', voice, input: text, response_format: 'pcm' },
          { signal },
        );
        if (!response.body) return;
        // One resampler per text: each response is its own signal (and texts overlap).
        const resampler = await makeResampler(OPENAI_PCM_RATE, PIPELINE_SAMPLE_RATE);
        try {
          const decoder = new Pcm16Decoder();
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            const pcm = resampler.process(decoder.decode(chunk));
            if (pcm.length > 0) yield pcm;
          }
        } finally {
          resampler.destroy?.();
        }
      });
    },
  };
}
