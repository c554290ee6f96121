import type { ConversationVad, SttEvent, SttProvider } from '@avp/pipeline-manager';
import { AsyncQueue } from '@avp/pipeline-manager/testing';

/** RMS of a frame; the simulator's callers send real audio, so this is a fair loudness test. */
export function rms(frame: Int16Array): number {
  let sum = 0;
  for (const sample of frame) sum += sample * sample;
  return Math.sqrt(sum / frame.length);
}

/** A VAD double on loudness: 5 loud frames start speech, 15 quiet ones end it. */
export function loudnessVad(): ConversationVad {
  let loud = 0;
  let quiet = 0;
  let speaking = false;
  let time = 0;
  return {
    async process(frame) {
      time += 20;
      if (rms(frame) > 1500) {
        loud++;
        quiet = 0;
        if (!speaking && loud >= 5) {
          speaking = true;
          return [{ type: 'user-started-speaking', mediaTimeMs: time - 100, detectedAtMs: time }];
        }
      } else {
        quiet++;
        loud = 0;
        if (speaking && quiet >= 15) {
          speaking = false;
          return [{ type: 'user-stopped-speaking', mediaTimeMs: time - 300, detectedAtMs: time }];
        }
      }
      return [];
    },
  };
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
