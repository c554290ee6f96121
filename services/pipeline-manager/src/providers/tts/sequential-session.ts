import { EventChannel } from '../event-channel.ts';
import type { TtsEvent, TtsOptions, TtsSession } from '../types.ts';

/** Synthesizes one text; yields 16 kHz PCM. */
export type SynthesizeOne = (text: string, signal: AbortSignal) => AsyncIterable<Int16Array>;

interface Job {
  text: string;
  audio: EventChannel<Int16Array>;
  started: boolean;
}

/**
 * A TTS session for vendors that take one whole text per request (HTTP, a local process).
 * Audio goes out strictly in push order, but the next `lookahead` texts are already being
 * synthesized while the current one streams, so a short sentence does not leave a gap
 * while the next request waits for its first byte.
 */
export function createSequentialTtsSession(options: TtsOptions, synthesizeOne: SynthesizeOne, lookahead = 1): TtsSession {
  const channel = new EventChannel<TtsEvent>();
  const jobs: Job[] = [];
  let emitted = 0; // texts whose audio is all out
  let ended = false;
  let emitting = false;
  const controller = new AbortController();
  const onAbort = () => {
    controller.abort(options.signal?.reason);
    channel.fail(options.signal?.reason);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const finish = () => {
    options.signal?.removeEventListener('abort', onAbort);
    channel.close();
  };

  const run = async (job: Job): Promise<void> => {
    try {
      for await (const pcm of synthesizeOne(job.text, controller.signal)) {
        if (pcm.length > 0) job.audio.push(pcm);
      }
      job.audio.close();
    } catch (error) {
      job.audio.fail(error);
    }
  };

  const startAhead = () => {
    for (let index = emitted; index < jobs.length && index <= emitted + lookahead; index++) {
      const job = jobs[index]!;
      if (!job.started) {
        job.started = true;
        void run(job);
      }
    }
  };

  async function emit(): Promise<void> {
    emitting = true;
    try {
      while (emitted < jobs.length) {
        startAhead();
        const job = jobs[emitted]!;
        for await (const pcm of job.audio) channel.push({ type: 'audio', pcm, textIndex: emitted });
        channel.push({ type: 'usage', characters: job.text.length });
        channel.push({ type: 'text-end', textIndex: emitted });
        emitted++;
      }
      emitting = false;
      if (ended) finish();
    } catch (error) {
      emitting = false;
      options.signal?.removeEventListener('abort', onAbort);
      channel.fail(error);
      controller.abort(error);
    }
  }

  return {
    push(text: string): number {
      // Bounded per text: a vendor far faster than playback still cannot grow memory forever.
      jobs.push({ text, audio: new EventChannel<Int16Array>(100_000), started: false });
      if (channel.isClosed) return jobs.length - 1;
      if (!emitting) void emit();
      else startAhead();
      return jobs.length - 1;
    },
    end(): void {
      ended = true;
      if (!emitting && emitted === jobs.length) finish();
    },
    events: {
      [Symbol.asyncIterator]: () => {
        const iterator = channel[Symbol.asyncIterator]();
        return {
          next: () => iterator.next(),
          return: () => {
            controller.abort(new Error('TTS session closed by its reader'));
            return iterator.return!();
          },
        };
      },
    },
  };
}
