/**
 * Provider doubles at typical latencies for end-of-turn tests and benchmarks with real speech:
 * an STT that "recognises" a script piece by piece (one piece per stretch of speech) and an
 * LLM whose first token comes a set time after each request.
 */
import type { LlmEvent, LlmProvider, LlmRequest, SttEvent, SttProvider } from '../../providers/types.ts';
import { AsyncQueue, frameRms } from './fakes.ts';

export interface ScriptedSttOptions {
  /** What is said, one entry per stretch of speech, in order. */
  script: readonly string[];
  /**
   * The final transcript comes this long after the last loud frame of a stretch reached STT (or
   * when the stretch's end is known, `stretchGapMs`, if that is later).
   */
  finalLatencyMs: number;
  /** Quiet that ends a stretch (ms, default 160: longer than the gaps between espeak-ng's words, at most 140 ms). */
  stretchGapMs?: number;
  /** Frame RMS above which a frame is speech (default 300). */
  threshold?: number;
  /** Sends the provider's end-of-utterance signal (`endpoint`) this long after each final; default none. */
  endpointAfterMs?: number;
  /** Each final as sent: its text and how long after the stretch's last loud frame it went out. */
  measured?: { text: string; latencyMs: number }[];
}

/** An STT double on real speech: each stretch of speech gets the next piece of the script as its final. */
export function scriptedStt(options: ScriptedSttOptions): SttProvider {
  const gapFrames = Math.max(1, Math.round((options.stretchGapMs ?? 160) / 20));
  const threshold = options.threshold ?? 300;
  return {
    name: 'test.scripted-stt',
    async start() {
      const events = new AsyncQueue<SttEvent>();
      const timers = new Set<NodeJS.Timeout>();
      let next = 0;
      let loud = 0;
      let quiet = 0;
      let lastLoudAt = 0;
      const later = (ms: number, run: () => void) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          run();
        }, Math.max(0, ms));
        timers.add(timer);
      };
      return {
        events,
        write(pcm) {
          if (frameRms(pcm) > threshold) {
            loud++;
            quiet = 0;
            lastLoudAt = performance.now();
            return;
          }
          quiet++;
          if (loud < 5 || quiet < gapFrames) return;
          loud = 0;
          const text = options.script[next++];
          if (text === undefined) return;
          const endedAt = lastLoudAt;
          later(endedAt + options.finalLatencyMs - performance.now(), () => {
            options.measured?.push({ text, latencyMs: performance.now() - endedAt });
            events.push({ type: 'final', text });
            if (options.endpointAfterMs !== undefined) later(options.endpointAfterMs, () => events.push({ type: 'endpoint' }));
          });
        },
        finish: async () => events.end(),
        close: () => {
          for (const timer of timers) clearTimeout(timer);
          events.end();
        },
      };
    },
  };
}

/**
 * An LLM double: the greeting (a request with no user message yet) at once, every answer's
 * first token `firstTokenMs` after the request, the rest right after. Stateless, so answers
 * prepared ahead and thrown away do not use up a script.
 */
export function typicalLlm(options: { firstTokenMs: number; greeting?: string; answer?: string }): LlmProvider {
  return {
    name: 'test.typical-llm',
    async *stream(request: LlmRequest): AsyncIterable<LlmEvent> {
      const answering = request.messages.some((message) => message.role === 'user');
      const text = answering ? (options.answer ?? 'Sure, I can help with that.') : (options.greeting ?? 'Hello.');
      if (answering) await abortableDelay(options.firstTokenMs, request.signal);
      for (const part of text.split(/(?<= )/)) {
        if (request.signal?.aborted) throw request.signal.reason;
        yield { type: 'text-delta', text: part };
      }
      yield { type: 'usage', inputTokens: request.messages.length * 10, outputTokens: text.split(' ').length };
      yield { type: 'done', finishReason: 'stop' };
    },
  };
}

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
