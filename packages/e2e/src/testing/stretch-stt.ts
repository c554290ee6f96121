import type { SttEvent, SttProvider, SttSession } from '@avp/pipeline-manager';

/** A recogniser double that "hears" stretches of sound: a final per stretch once 200 ms of quiet follow it. */
export function stretchStt(): SttProvider {
  return {
    name: 'stretch.stt',
    async start(): Promise<SttSession> {
      const queue: SttEvent[] = [];
      let wake: (() => void) | undefined;
      let ended = false;
      let run = 0;
      let quiet = 0;
      let frames = 0;
      const push = (event: SttEvent) => {
        queue.push(event);
        wake?.();
      };
      // As real recognisers do, the audio's length is reported as the session closes.
      const end = () => {
        if (ended) return;
        // The last stretch is final once the audio ends, as a recogniser finalises on finish.
        if (run > 0) queue.push({ type: 'final', text: `sound of ${run * 20} ms` });
        queue.push({ type: 'usage', audioSeconds: frames * 0.02 });
        ended = true;
        wake?.();
      };
      return {
        write(pcm) {
          frames++;
          let sum = 0;
          for (const sample of pcm) sum += sample * sample;
          const isLoud = Math.sqrt(sum / pcm.length) > 500;
          if (isLoud) {
            run++;
            quiet = 0;
          } else if (run > 0 && ++quiet >= 10) {
            push({ type: 'final', text: `sound of ${run * 20} ms` });
            run = 0;
          }
        },
        finish: async () => end(),
        close: end,
        events: (async function* () {
          for (;;) {
            while (queue.length > 0) yield queue.shift()!;
            if (ended) return;
            await new Promise<void>((resolve) => (wake = resolve));
          }
        })(),
      };
    },
  };
}

