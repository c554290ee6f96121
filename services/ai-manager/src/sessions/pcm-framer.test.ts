import { describe, expect, it } from 'vitest';
import { PcmFramer, WEB_FRAME_BYTES } from './pcm-framer.ts';

describe('PcmFramer', () => {
  it('cuts render quanta of 128 samples into 20 ms frames, keeping the order of the bytes', () => {
    const framer = new PcmFramer();
    const bytes = Uint8Array.from({ length: 256 * 10 }, (_, index) => index % 251);
    const frames: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += 256) frames.push(...framer.push(bytes.subarray(offset, offset + 256)));
    expect(frames).toHaveLength(4); // 2560 bytes = 4 frames of 640, 0 left
    expect(frames.every((frame) => frame.length === WEB_FRAME_BYTES)).toBe(true);
    expect(Buffer.concat(frames).equals(Buffer.from(bytes))).toBe(true);
    expect(framer.pendingBytes).toBe(0);
  });

  it('holds a partial frame until the rest arrives', () => {
    const framer = new PcmFramer(4);
    expect(framer.push(Uint8Array.of(1, 2, 3))).toEqual([]);
    expect(framer.pendingBytes).toBe(3);
    expect(framer.push(Uint8Array.of(4, 5, 6, 7, 8, 9))).toEqual([Buffer.of(1, 2, 3, 4), Buffer.of(5, 6, 7, 8)]);
    expect(framer.pendingBytes).toBe(1);
  });

  it('returns copies, so a reused input buffer does not change frames already returned', () => {
    const framer = new PcmFramer(2);
    const input = Uint8Array.of(1, 2);
    const [frame] = framer.push(input);
    input.fill(0);
    expect(frame).toEqual(Buffer.of(1, 2));
  });
});
