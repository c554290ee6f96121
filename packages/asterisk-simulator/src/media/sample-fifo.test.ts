import { describe, expect, it } from 'vitest';
import { FaultInjector } from './faults.ts';
import { SampleFifo } from './sample-fifo.ts';
import { buildWav, parseWav, toEngineRate } from './wav.ts';

describe('SampleFifo', () => {
  it('reads across chunks and drops the oldest samples beyond its capacity', () => {
    const fifo = new SampleFifo(4);
    fifo.write(Int16Array.from([1, 2, 3]));
    fifo.write(Int16Array.from([4, 5]));
    expect(fifo.dropped).toBe(1);
    expect([...(fifo.read(3) ?? [])]).toEqual([2, 3, 4]);
    expect(fifo.read(3)).toBeNull();
    expect([...(fifo.read(3, true) ?? [])]).toEqual([5, 0, 0]);
  });
});

describe('FaultInjector', () => {
  it('drops the same packets for the same seed', () => {
    const run = () => {
      const delivered: number[] = [];
      const injector = new FaultInjector({ lossPercent: 30, seed: 11 }, (packet) => delivered.push(packet[0] as number));
      for (let index = 0; index < 100; index += 1) injector.pass(Buffer.from([index]));
      return delivered;
    };
    const first = run();
    expect(first).toEqual(run());
    expect(first.length).toBeGreaterThan(50);
    expect(first.length).toBeLessThan(90);
  });

  it('reorders by holding a packet back until the next one', () => {
    const delivered: number[] = [];
    const injector = new FaultInjector({ reorderPercent: 100, seed: 1 }, (packet) => delivered.push(packet[0] as number));
    for (const index of [1, 2, 3, 4]) injector.pass(Buffer.from([index]));
    expect(delivered).toEqual([2, 1, 4, 3]);
  });
});

describe('WAV', () => {
  it('writes and reads PCM16 mono and resamples 8 kHz input to 16 kHz', () => {
    const samples = Int16Array.from([0, 100, -100, 32_767]);
    const parsed = parseWav(buildWav(samples, 8000));
    expect(parsed.sampleRate).toBe(8000);
    expect([...parsed.samples]).toEqual([...samples]);
    expect(toEngineRate(parsed)).toHaveLength(8);
  });
});
