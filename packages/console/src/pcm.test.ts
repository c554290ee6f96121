import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES, FrameAccumulator, PlaybackQueue, pcm16ToFloat, rootMeanSquare, toPcm16Sample } from '../web/audio/pcm.ts';

describe('the Talk page\'s audio framing', () => {
  it('converts samples to 16 bits, clipping what is out of range and silencing what is not a number', () => {
    expect([1, -1, 0, 0.5, 2, -3, Number.NaN].map(toPcm16Sample)).toEqual([32767, -32768, 0, 16384, 32767, -32768, 0]);
  });

  it('gathers 128-sample render quanta into 20 ms frames of little-endian PCM16', () => {
    const frames = new FrameAccumulator();
    const quantum = Float32Array.from({ length: 128 }, (_, index) => (index % 2 === 0 ? 0.5 : -0.5));
    const out: ArrayBuffer[] = [];
    for (let count = 0; count < 5; count += 1) out.push(...frames.push(quantum)); // 640 samples: two frames exactly
    expect(out).toHaveLength(2);
    for (const frame of out) {
      expect(frame.byteLength).toBe(FRAME_SAMPLES * 2);
      const view = new DataView(frame);
      expect([view.getInt16(0, true), view.getInt16(2, true)]).toEqual([16384, -16384]);
    }
    expect(out[0]).not.toBe(out[1]); // each frame its own buffer: they are transferred
  });

  it('reads PCM16 back as samples in [-1, 1], ignoring an odd last byte', () => {
    const bytes = new ArrayBuffer(5);
    const view = new DataView(bytes);
    view.setInt16(0, -32768, true);
    view.setInt16(2, 16384, true);
    expect([...pcm16ToFloat(bytes)]).toEqual([-1, 0.5]);
  });

  it('plays queued chunks in order across render quanta, then silence, counting what was played', () => {
    const queue = new PlaybackQueue();
    queue.push(Float32Array.of(0.1, 0.2, 0.3));
    queue.push(Float32Array.of(0.4, 0.5));
    const output = new Float32Array(4);
    expect(queue.read(output)).toBe(4);
    expect([...output]).toEqual([...Float32Array.of(0.1, 0.2, 0.3, 0.4)]);
    expect(queue.read(output)).toBe(1);
    expect([...output]).toEqual([...Float32Array.of(0.5, 0, 0, 0)]);
    expect(queue.played).toBe(5);
    expect(queue.queuedSamples).toBe(0);
  });

  it('drops everything queued at once on a barge-in', () => {
    const queue = new PlaybackQueue();
    queue.push(new Float32Array(1000).fill(0.5));
    queue.read(new Float32Array(128));
    expect(queue.clear()).toBe(872);
    const output = new Float32Array(128).fill(1);
    expect(queue.read(output)).toBe(0);
    expect(output.every((sample) => sample === 0)).toBe(true);
  });

  it('keeps at most its bound, dropping the oldest audio', () => {
    const queue = new PlaybackQueue(300);
    for (let index = 0; index < 4; index += 1) queue.push(new Float32Array(100).fill(index));
    expect(queue.queuedSamples).toBe(300);
    expect(queue.dropped).toBe(100);
    const output = new Float32Array(1);
    queue.read(output);
    expect(output[0]).toBe(1);
  });

  it('measures loudness as the root mean square', () => {
    expect(rootMeanSquare(Float32Array.of(0.5, -0.5))).toBeCloseTo(0.5);
    expect(rootMeanSquare(new Float32Array(0))).toBe(0);
  });
});
