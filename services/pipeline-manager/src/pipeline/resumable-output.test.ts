import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../media/audio-format.ts';
import { ResumableOutput } from './resumable-output.ts';
import { FakeTransport } from './testing/fakes.ts';

const transports: FakeTransport[] = [];
afterEach(async () => {
  for (const transport of transports.splice(0)) await transport.close();
});

async function until(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function setup() {
  const inner = new FakeTransport(2);
  transports.push(inner);
  return { inner, output: new ResumableOutput(inner) };
}

/** `count` frames of segment `id`, each filled with its index within the segment. */
function speak(output: ResumableOutput, id: string, count: number, end = true): void {
  for (let index = 0; index < count; index++) output.send(new Int16Array(FRAME_SAMPLES).fill(1000 + index), id);
  if (end) output.endSegment(id);
}

describe('ResumableOutput', () => {
  it('pauses at once and resumes from the start of the sentence that was cut, held audio after it', async () => {
    const { inner, output } = setup();
    speak(output, 'a', 5);
    speak(output, 'b', 40);
    await until(() => inner.played.some((entry) => entry.segmentId === 'b'), 'the second sentence to start');
    output.pause();
    const atPause = inner.played.length;
    expect(inner.queuedMs()).toBe(0);
    speak(output, 'c', 3); // written while paused: held
    expect(output.queuedMs()).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(inner.played.length).toBe(atPause);

    output.resume();
    await until(() => output.queuedMs() === 0, 'the rest to play');
    const after = inner.played.slice(atPause);
    expect(after.map((entry) => entry.segmentId)).toEqual([...Array(40).fill('b'), 'c', 'c', 'c']);
    expect(after[0]!.frame[0]).toBe(1000); // from the first frame of "b"
  });

  it('answers an interruption after a pause with what was heard when the pause began', async () => {
    const { inner, output } = setup();
    speak(output, 'a', 30);
    await until(() => inner.played.length >= 10, 'part of it to play');
    output.pause();
    const heardMs = inner.played.length * 20;
    await new Promise((resolve) => setTimeout(resolve, 10));
    const playouts = output.interrupt();
    expect(playouts).toEqual([{ segmentId: 'a', playedMs: heardMs, droppedMs: 600 - heardMs, complete: true }]);
    expect(output.isPaused).toBe(false);
    output.resume(); // nothing to resume after an interruption
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(inner.played.length * 20).toBe(heardMs);
  });

  it('measures the bot by its loudest recent frames, ignoring silence', () => {
    const { output } = setup();
    output.send(new Int16Array(FRAME_SAMPLES).fill(2000), 'a');
    output.send(new Int16Array(FRAME_SAMPLES).fill(8000), 'a');
    output.send(new Int16Array(FRAME_SAMPLES), 'a');
    expect(output.botLevel()).toBeCloseTo(8000, 0);
    output.send(new Int16Array(FRAME_SAMPLES).fill(1000), 'a');
    expect(output.botLevel()).toBeLessThan(8000);
    expect(output.botLevel()).toBeGreaterThan(7900);
  });
});
