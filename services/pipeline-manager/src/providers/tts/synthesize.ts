import type { TtsEvent, TtsOptions, TtsProvider } from '../types.ts';

/** One whole text through a TTS session: the events of `open`, `push(text)`, `end()`. */
export function synthesize(provider: TtsProvider, request: TtsOptions & { text: string }): AsyncIterable<TtsEvent> {
  const session = provider.open(request);
  session.push(request.text);
  session.end();
  return session.events;
}

/** Joins the audio of TTS events into one array (tests, short prompts). */
export function joinAudio(events: TtsEvent[]): Int16Array {
  const parts = events.flatMap((event) => (event.type === 'audio' ? [event.pcm] : []));
  const joined = new Int16Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}
