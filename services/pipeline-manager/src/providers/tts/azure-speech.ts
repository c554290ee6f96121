import { Pcm16Decoder } from '../audio.ts';
import { errorFromResponse } from '../provider-error.ts';
import type { TtsProvider } from '../types.ts';
import { createSequentialTtsSession } from './sequential-session.ts';

export interface AzureSpeechOptions {
  apiKey: string;
  /** `https://<region>.tts.speech.microsoft.com`. */
  baseUrl: string;
  defaultVoice?: string;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * Azure AI Speech text to speech over its REST API (`/cognitiveservices/v1`, SSML in,
 * `raw-16khz-16bit-mono-pcm` streamed out, so no resampling); one request per text.
 * `voiceId` is an Azure voice name (`en-US-AvaMultilingualNeural`).
 */
export function createAzureSpeechTts(options: AzureSpeechOptions): TtsProvider {
  const url = `${options.baseUrl.replace(/\/$/, '')}/cognitiveservices/v1`;
  return {
    name: 'azure',
    open(session) {
      const voice = session.voiceId || options.defaultVoice || 'en-US-AvaMultilingualNeural';
      const language = session.language || 'en-US';
      return createSequentialTtsSession(session, async function* (text, signal) {
        const response = await fetch(url, {
          method: 'POST',
          signal,
          headers: {
            'Ocp-Apim-Subscription-Key': options.apiKey,
            'Content-Type': 'application/ssml+xml',
            'X-Microsoft-OutputFormat': 'raw-16khz-16bit-mono-pcm',
            'User-Agent': 'ai-voice-platform',
          },
          body: `<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="${escapeXml(language)}"><voice name="${escapeXml(voice)}">${escapeXml(text)}</voice></speak>`,
        });
        if (!response.ok) throw await errorFromResponse(response, 'azure');
        if (!response.body) return;
        const decoder = new Pcm16Decoder();
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          const pcm = decoder.decode(chunk);
          if (pcm.length > 0) yield pcm;
        }
      });
    },
  };
}
