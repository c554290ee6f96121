import { EventChannel } from '../event-channel.ts';
import { createSequentialTtsSession } from '../tts/sequential-session.ts';
import { PIPELINE_SAMPLE_RATE, type SttEvent, type SttProvider, type SttSession, type SttStartOptions, type TtsProvider } from '../types.ts';

/**
 * In-process stand-ins for pipeline tests and benchmarks: no sockets, no latency unless
 * asked for. (Provider tests use the wire-level fakes instead.) For the LLM side use
 * `local.scripted` (llm/scripted-dialogue.ts), which is already offline.
 */

/** A live STT session whose results the test decides. */
export class FakeSttSession implements SttSession {
  readonly options: SttStartOptions;
  /** Samples received through `write`. */
  samplesWritten = 0;
  finished = false;
  closed = false;
  private readonly channel = new EventChannel<SttEvent>();
  readonly events: AsyncIterable<SttEvent> = this.channel;

  constructor(options: SttStartOptions) {
    this.options = options;
    options.signal?.addEventListener('abort', () => this.channel.fail(options.signal?.reason), { once: true });
  }

  write(pcm: Int16Array): void {
    if (!this.closed) this.samplesWritten += pcm.length;
  }

  async finish(): Promise<void> {
    this.finished = true;
    this.end();
  }

  close(): void {
    this.end();
  }

  /** Sends any event as if the vendor had. */
  emit(event: SttEvent): void {
    this.channel.push(event);
  }

  /** A typical utterance: interim of the first word, the final text, then the endpoint. */
  say(text: string, language = this.options.language || 'en-US'): void {
    const firstWord = text.split(/\s+/)[0] ?? text;
    this.emit({ type: 'interim', text: firstWord, language });
    this.emit({ type: 'final', text, language, confidence: 0.99 });
    this.emit({ type: 'endpoint' });
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.push({ type: 'usage', audioSeconds: this.samplesWritten / this.options.sampleRate });
    this.channel.close();
  }
}

/** An STT engine that records its sessions; tests drive them with `say` / `emit`. */
export class FakeSttProvider implements SttProvider {
  readonly name = 'fake-stt';
  readonly sessions: FakeSttSession[] = [];
  /** When set, `start` fails with it (connection errors, auth). */
  failWith: Error | undefined;

  async start(options: SttStartOptions): Promise<SttSession> {
    if (this.failWith) throw this.failWith;
    const session = new FakeSttSession(options);
    this.sessions.push(session);
    return session;
  }

  /** The most recent session. */
  get current(): FakeSttSession | undefined {
    return this.sessions.at(-1);
  }
}

/**
 * A TTS engine that "speaks" a 440 Hz tone, `msPerCharacter` long per character, in chunks
 * of `chunkMs`; `firstByteDelayMs` simulates vendor latency (0: none at all). The tone
 * makes played audio measurable, and the length makes cut-off points predictable.
 */
export function createToneTts(options: { msPerCharacter?: number; chunkMs?: number; firstByteDelayMs?: number } = {}): TtsProvider & { texts: string[] } {
  const msPerCharacter = options.msPerCharacter ?? 60;
  const chunkSamples = ((options.chunkMs ?? 20) * PIPELINE_SAMPLE_RATE) / 1000;
  const texts: string[] = [];
  return {
    name: 'fake-tone',
    texts,
    open(session) {
      return createSequentialTtsSession(session, async function* (text, signal) {
        texts.push(text);
        if (options.firstByteDelayMs) {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, options.firstByteDelayMs);
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(signal.reason);
            }, { once: true });
          });
        }
        const total = Math.round((text.length * msPerCharacter * PIPELINE_SAMPLE_RATE) / 1000);
        for (let offset = 0; offset < total; offset += chunkSamples) {
          signal.throwIfAborted();
          const length = Math.min(chunkSamples, total - offset);
          yield Int16Array.from({ length }, (_value, index) => Math.round(8_000 * Math.sin((2 * Math.PI * 440 * (offset + index)) / PIPELINE_SAMPLE_RATE)));
        }
      });
    },
  };
}
