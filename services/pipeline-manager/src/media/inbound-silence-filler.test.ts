import { describe, expect, it } from 'vitest';
import { InboundSilenceFiller } from './inbound-silence-filler.ts';

describe('InboundSilenceFiller', () => {
  it('asks for nothing before the first arrival or within the grace period', () => {
    const filler = new InboundSilenceFiller(100);
    expect(filler.due(1000)).toBe(0);
    filler.arrived(1000);
    expect(filler.due(1080)).toBe(0);
  });

  it('backfills the gap once, then 20 ms per tick, and stops when audio returns', () => {
    const filler = new InboundSilenceFiller(100);
    filler.arrived(0);
    expect(filler.due(105)).toBe(100);
    expect(filler.due(110)).toBe(0);
    expect(filler.due(125)).toBe(20);
    expect(filler.due(145)).toBe(20);
    filler.arrived(150);
    expect(filler.due(200)).toBe(0);
  });

  it('caps one catch-up at a second and can be disabled', () => {
    const filler = new InboundSilenceFiller(100);
    filler.arrived(0);
    expect(filler.due(5000)).toBe(1000);
    const disabled = new InboundSilenceFiller(0);
    disabled.arrived(0);
    expect(disabled.due(5000)).toBe(0);
  });

  it('fills a stream that has begun even when nothing ever arrived (a caller silent from the start)', () => {
    const filler = new InboundSilenceFiller(100);
    expect(filler.due(500)).toBe(0);
    filler.begin(500);
    expect(filler.due(560)).toBe(0);
    expect(filler.due(605)).toBe(100);
    expect(filler.due(625)).toBe(20);
    // Audio that arrives takes over; begin() again changes nothing once the stream runs.
    filler.arrived(630);
    filler.begin(2000);
    expect(filler.due(650)).toBe(0);
  });
});
