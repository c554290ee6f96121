import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from './audio-format.ts';
import { OutputQueue, type SegmentPlayout } from './output-queue.ts';

const frame = (value: number): Int16Array => new Int16Array(FRAME_SAMPLES).fill(value);

describe('OutputQueue', () => {
  it('copies frames, so callers may reuse their buffers', () => {
    const queue = new OutputQueue();
    const buffer = frame(1);
    queue.enqueue(buffer, 'a');
    buffer.fill(2);
    expect(queue.dequeue()?.frame[0]).toBe(1);
  });

  it('reports a segment once it was played to the end', () => {
    const queue = new OutputQueue();
    const done: SegmentPlayout[] = [];
    queue.onSegmentComplete((playout) => done.push(playout));
    queue.enqueue(frame(1), 'a');
    queue.enqueue(frame(1), 'a');
    queue.endSegment('a');
    queue.markPlayed(queue.dequeue()?.segmentId ?? '');
    expect(done).toEqual([]);
    queue.markPlayed(queue.dequeue()?.segmentId ?? '');
    expect(done).toEqual([{ segmentId: 'a', playedMs: 40, droppedMs: 0, complete: true }]);
  });

  it('on interrupt drops the rest and reports played and dropped time per segment', () => {
    const queue = new OutputQueue();
    for (let index = 0; index < 5; index += 1) queue.enqueue(frame(index), 'a');
    for (let index = 0; index < 3; index += 1) queue.enqueue(frame(index), 'b');
    for (let index = 0; index < 2; index += 1) queue.markPlayed(queue.dequeue()?.segmentId ?? '');
    queue.dequeue(); // sent but not yet played: reported as in flight
    const report = queue.interrupt(new Map([['a', 1]]));
    expect(report).toEqual([
      { segmentId: 'a', playedMs: 40, droppedMs: 60, complete: true },
      { segmentId: 'b', playedMs: 0, droppedMs: 60, complete: true },
    ]);
    expect(queue.length).toBe(0);
  });

  it('is bounded and counts what it refuses', () => {
    const queue = new OutputQueue(60);
    expect([1, 2, 3, 4].map((value) => queue.enqueue(frame(value), 'a'))).toEqual([true, true, true, false]);
    expect(queue.overflowFrames).toBe(1);
  });
});
