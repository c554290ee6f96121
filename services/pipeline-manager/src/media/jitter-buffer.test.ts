import { describe, expect, it } from 'vitest';
import { JitterBuffer } from './jitter-buffer.ts';

function collect(depth = 3): { buffer: JitterBuffer; out: Array<number | 'lost'> } {
  const out: Array<number | 'lost'> = [];
  const buffer = new JitterBuffer((payload) => out.push(payload ? (payload[0] as number) : 'lost'), { depth });
  return { buffer, out };
}

const packet = (marker: number): Uint8Array => new Uint8Array([marker]);

describe('JitterBuffer', () => {
  it('passes in-order packets straight through across the sequence wrap', () => {
    const { buffer, out } = collect();
    for (let index = 0; index < 6; index += 1) buffer.push((65_533 + index) & 0xffff, packet(index));
    expect(out).toEqual([0, 1, 2, 3, 4, 5]);
    expect(buffer.stats.concealed).toBe(0);
  });

  it('puts reordered packets back in order', () => {
    const { buffer, out } = collect();
    for (const sequence of [10, 12, 11, 14, 13, 15]) buffer.push(sequence, packet(sequence));
    expect(out).toEqual([10, 11, 12, 13, 14, 15]);
    expect(buffer.stats.reordered).toBe(2);
    expect(buffer.stats.concealed).toBe(0);
  });

  it('conceals a lost packet once more than depth packets wait behind it', () => {
    const { buffer, out } = collect(3);
    for (const sequence of [1, 2, 4, 5, 6]) buffer.push(sequence, packet(sequence));
    expect(out).toEqual([1, 2]);
    buffer.push(7, packet(7));
    expect(out).toEqual([1, 2, 'lost', 4, 5, 6, 7]);
    expect(buffer.stats.concealed).toBe(1);
    // The lost packet arriving now is too late and dropped.
    buffer.push(3, packet(3));
    expect(buffer.stats.late).toBe(1);
  });

  it('counts duplicates, held or already delivered', () => {
    const { buffer, out } = collect();
    buffer.push(1, packet(1));
    buffer.push(1, packet(1));
    buffer.push(3, packet(3));
    buffer.push(3, packet(3));
    expect(buffer.stats.duplicates).toBe(2);
    buffer.flush();
    expect(out).toEqual([1, 'lost', 3]);
  });

  it('restarts on a jump too large to conceal', () => {
    const { buffer, out } = collect();
    buffer.push(1, packet(1));
    buffer.push(5000, packet(2));
    expect(out).toEqual([1, 2]);
    expect(buffer.stats.resyncs).toBe(1);
  });

  it('starts afresh after reset (new SSRC)', () => {
    const { buffer, out } = collect();
    buffer.push(100, packet(1));
    buffer.reset();
    buffer.push(7, packet(2));
    buffer.push(8, packet(3));
    expect(out).toEqual([1, 2, 3]);
    expect(buffer.stats.late).toBe(0);
  });
});
