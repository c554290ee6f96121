import { describe, expect, it } from 'vitest';
import { DEFAULT_FILL_SILENCE_AFTER_MS, InboundSilenceFiller, MAX_LATE_FRAMES } from './inbound-silence-filler.ts';

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

  it('fills nothing on a tick late by more than a frame (packets of the stall are still unread), and on the next one what is still missing', () => {
    const filler = new InboundSilenceFiller(60);
    filler.arrived(0);
    expect(filler.due(120, 60)).toBe(0); // the process was stalled: the socket may hold audio
    filler.arrived(121); // it did: the caller's audio goes on, nothing was filled over it
    expect(filler.due(141)).toBe(0);
    expect(filler.due(300, 100)).toBe(0);
    expect(filler.due(320, 100)).toBe(180); // late again, but never twice in a row: time goes on
    expect(filler.due(340, 0)).toBe(20);
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
  it('starts filling three frame times after the last arrival by default', () => {
    expect(DEFAULT_FILL_SILENCE_AFTER_MS).toBe(60);
    const filler = new InboundSilenceFiller();
    filler.arrived(0);
    expect(filler.due(59)).toBe(0);
    expect(filler.due(61)).toBe(60);
    expect(filler.filledFrames).toBe(3);
  });

  it('tells late audio whose time was filled from a new talkspurt', () => {
    const filler = new InboundSilenceFiller(60);
    filler.arrived(0);
    expect(filler.lateWithinFill(1, false)).toBe(false);
    filler.due(65);
    // The sender did not pause: the next three frames were stood in for, the fourth is new.
    expect([1, 2, 3, 4].map((frames) => filler.lateWithinFill(frames, false))).toEqual([true, true, true, false]);
    // The sender paused (timestamp jump or marker bit): a new talkspurt, never dropped.
    expect(filler.lateWithinFill(1, true)).toBe(false);
    filler.arrived(70);
    expect(filler.lateWithinFill(1, false)).toBe(false);
  });

  it('takes audio after a long fill for a new talkspurt even when its timestamp says late', () => {
    const filler = new InboundSilenceFiller(60);
    filler.arrived(0);
    filler.due((MAX_LATE_FRAMES + 1) * 20 + 5);
    expect(filler.filledFrames).toBe(MAX_LATE_FRAMES + 1);
    expect(filler.lateWithinFill(1, false)).toBe(false);
  });
  it('drops RTP packets that continue the stream into filled silence, not those after a sender pause or with the marker bit', () => {
    const filler = new InboundSilenceFiller(60);
    const packet = (sequenceNumber: number, timestamp: number, marker = false) => ({ sequenceNumber, timestamp, marker });
    expect(filler.packetArrived(0, packet(65_535, 1600), 1, 160)).toBe('arrived');
    filler.due(65);
    // Across the sequence wrap: the next packet, timestamp one frame on, was stood in for.
    expect(filler.packetArrived(66, packet(0, 1760), 1, 160)).toBe('late');
    expect(filler.packetArrived(66, packet(1, 1920, true), 1, 160)).toBe('arrived');
    filler.due(130);
    // Timestamp moved further than the sequence number: the sender paused, a new talkspurt.
    expect(filler.packetArrived(131, packet(2, 1920 + 160 * 4), 1, 160)).toBe('arrived');
    expect(filler.due(150)).toBe(0);
  });
});
