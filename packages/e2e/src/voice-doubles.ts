import type { ConversationVad, SttEvent, SttProvider } from '@avp/pipeline-manager';
import { AsyncQueue, frameRms, loudnessVad as sharedLoudnessVad } from '@avp/pipeline-manager/testing';

/** RMS of a frame; the simulator's callers send real audio, so this is a fair loudness test. */
export const rms = frameRms;

/** A VAD double on loudness: 5 loud frames start speech, 15 quiet ones (300 ms) end it. */
export function loudnessVad(): ConversationVad {
  return sharedLoudnessVad({ startFrames: 5, stopMs: 300 });
}

/** An STT double: after each stretch of loud audio followed by silence, the next scripted text is final. */
export function scriptedStt(texts: string[]): SttProvider {
  return {
    name: 'test.stt',
    async start() {
      const events = new AsyncQueue<SttEvent>();
      let loud = 0;
      let quiet = 0;
      return {
        events,
        write(pcm) {
          if (rms(pcm) > 1500) {
            loud++;
            quiet = 0;
            return;
          }
          quiet++;
          if (loud >= 10 && quiet === 10) {
            loud = 0;
            const text = texts.shift();
            if (text) {
              events.push({ type: 'final', text });
              events.push({ type: 'endpoint' });
            }
          }
        },
        finish: async () => events.end(),
        close: () => events.end(),
      };
    },
  };
}
