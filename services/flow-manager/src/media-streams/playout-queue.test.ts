import { describe, expect, it } from 'vitest';
import { PlayoutQueue } from './playout-queue.ts';

describe('the playout queue of an engine\'s audio', () => {
  it('cuts audio of any size into whole frames and keeps marks where they were sent', () => {
    const queue = new PlayoutQueue(4, 0xff, 100);
    queue.pushAudio(Uint8Array.from([1, 2, 3]));
    queue.pushAudio(Uint8Array.from([4, 5, 6, 7, 8, 9]));
    queue.pushMark('after-two');
    queue.pushAudio(Uint8Array.from([10, 11, 12, 13]));
    expect(queue.frames).toBe(4);
    expect(queue.take()).toEqual({ marks: [], frame: Buffer.from([1, 2, 3, 4]) });
    // The remainder (9) was padded with silence when the mark came.
    expect(queue.take()).toEqual({ marks: [], frame: Buffer.from([5, 6, 7, 8]) });
    expect(queue.take()).toEqual({ marks: [], frame: Buffer.from([9, 0xff, 0xff, 0xff]) });
    expect(queue.take()).toEqual({ marks: ['after-two'], frame: Buffer.from([10, 11, 12, 13]) });
    expect(queue.take()).toEqual({ marks: [], frame: undefined });
    expect(queue.isEmpty).toBe(true);
  });

  it('pads a last remainder once nothing else is queued', () => {
    const queue = new PlayoutQueue(4, 0, 100);
    queue.pushAudio(Uint8Array.from([1, 2, 3, 4, 5]));
    expect(queue.take().frame).toEqual(Buffer.from([1, 2, 3, 4]));
    expect(queue.take().frame).toEqual(Buffer.from([5, 0, 0, 0]));
  });

  it('clear empties it at once and answers the marks that were waiting', () => {
    const queue = new PlayoutQueue(2, 0, 100);
    queue.pushAudio(Uint8Array.from([1, 2, 3, 4]));
    queue.pushMark('a');
    queue.pushAudio(Uint8Array.from([5, 6, 7]));
    queue.pushMark('b');
    expect(queue.clear()).toEqual(['a', 'b']);
    expect(queue.take()).toEqual({ marks: [], frame: undefined });
    expect(queue.frames).toBe(0);
  });

  it('drops new audio past its bound and counts it, keeping what was queued', () => {
    const queue = new PlayoutQueue(2, 0, 2);
    queue.pushAudio(Uint8Array.from([1, 1, 2, 2, 3, 3]));
    expect(queue.frames).toBe(2);
    expect(queue.dropped).toBe(2);
    expect(queue.take().frame).toEqual(Buffer.from([1, 1]));
  });
});
