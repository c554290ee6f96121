import { describe, expect, it } from 'vitest';
import { ENGINE_FRAME_SAMPLES, rms } from '../media/codecs.ts';
import { Caller, type CallerOptions } from './scripted-caller.ts';

function answeredCaller(options: CallerOptions): Caller {
  const caller = new Caller({ dtmf: () => undefined, hangup: () => undefined, answer: () => undefined, mediaLegs: () => [] }, options);
  caller.channel = { id: 'c1', state: 'Up' };
  return caller;
}

/** One media tick: what the caller sends, then what it hears. */
function tick(caller: Caller, heard: Int16Array | null): Int16Array | null {
  const sent = caller.produce();
  caller.consume(heard);
  return sent;
}

const tone = (amplitude: number) => Int16Array.from({ length: ENGINE_FRAME_SAMPLES }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * 400 * i) / 16_000)));

describe('Caller echo', () => {
  it('sends what it heard back after the delay, at the gain', () => {
    const caller = answeredCaller({ echo: { delayMs: 100, gainDb: -20 } });
    const heard = tone(10_000);
    const sent: (Int16Array | null)[] = [];
    for (let index = 0; index < 10; index++) sent.push(tick(caller, index < 3 ? heard : null));
    // 100 ms = 5 frames: the three heard frames come back in ticks 5-7, 20 dB down.
    expect(sent.slice(0, 5).every((frame) => frame === null || rms(frame) === 0)).toBe(true);
    for (const frame of sent.slice(5, 8)) expect(rms(frame!) / rms(heard)).toBeCloseTo(0.1, 2);
    expect(sent.slice(8).every((frame) => frame === null || rms(frame) === 0)).toBe(true);
  });

  it('mixes the echo with its own speech, and sends nothing back without the option', () => {
    const echoing = answeredCaller({ echo: { delayMs: 20, gainDb: -20 } });
    const own = new Int16Array(ENGINE_FRAME_SAMPLES * 3).fill(1000);
    void echoing.play(own);
    const heard = tone(10_000);
    tick(echoing, heard);
    const mixed = tick(echoing, null)!;
    expect(Array.from(mixed.slice(0, 4))).toEqual(Array.from(heard.slice(0, 4), (sample) => 1000 + Math.round(sample * 0.1)));

    const plain = answeredCaller({});
    tick(plain, heard);
    expect(tick(plain, null)).toBeNull();
  });
});
