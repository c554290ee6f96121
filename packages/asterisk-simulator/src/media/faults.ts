/** Network faults to inject on an external media leg (RTP). */
export interface FaultPlan {
  /** Share of packets dropped, 0-100. */
  lossPercent?: number;
  /** Share of packets held back and sent after the next one, 0-100. */
  reorderPercent?: number;
  /** Each packet is delayed by a random 0..jitterMs (which also reorders some). */
  jitterMs?: number;
  /** Which way the faults apply: towards the application, from it, or both (default to-app). */
  direction?: 'to-app' | 'from-app' | 'both';
  /** Seed for the random choices, so a run can be repeated. */
  seed?: number;
}

/** A small seeded PRNG (mulberry32): fault runs are repeatable with the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Applies a fault plan to a stream of packets: `pass` either delivers a packet now, later,
 * after the next one, or never. Counts what it did.
 */
export class FaultInjector {
  private random: () => number;
  private held: Buffer | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly counts = { dropped: 0, reordered: 0, delayed: 0 };

  constructor(
    private plan: FaultPlan,
    private readonly deliver: (packet: Buffer) => void,
  ) {
    this.random = seededRandom(plan.seed ?? 1);
  }

  update(plan: FaultPlan): void {
    this.plan = plan;
    this.random = seededRandom(plan.seed ?? 1);
  }

  pass(packet: Buffer): void {
    const { lossPercent = 0, reorderPercent = 0, jitterMs = 0 } = this.plan;
    if (lossPercent > 0 && this.random() * 100 < lossPercent) {
      this.counts.dropped += 1;
      return;
    }
    if (reorderPercent > 0 && !this.held && this.random() * 100 < reorderPercent) {
      this.held = packet;
      this.counts.reordered += 1;
      return;
    }
    this.later(packet, jitterMs);
    if (this.held) {
      const held = this.held;
      this.held = undefined;
      this.later(held, jitterMs);
    }
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private later(packet: Buffer, jitterMs: number): void {
    const delay = jitterMs > 0 ? this.random() * jitterMs : 0;
    if (delay < 1) {
      this.deliver(packet);
      return;
    }
    this.counts.delayed += 1;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.deliver(packet);
    }, delay);
    this.timers.add(timer);
  }
}

/** Packets that are not valid RTP in different ways (what `sendMalformedBurst` sends). */
export function malformedPackets(count: number, random: () => number): Buffer[] {
  const packets: Buffer[] = [];
  for (let index = 0; index < count; index += 1) {
    switch (index % 5) {
      case 0:
        packets.push(Buffer.from([0x80, 0x00, 0x01])); // shorter than a header
        break;
      case 1: {
        const wrongVersion = Buffer.alloc(172);
        wrongVersion[0] = 0x40; // version 1
        packets.push(wrongVersion);
        break;
      }
      case 2: {
        const csrcOverrun = Buffer.alloc(20);
        csrcOverrun[0] = 0x8f; // 15 CSRCs announced, none present
        packets.push(csrcOverrun);
        break;
      }
      case 3: {
        const badPadding = Buffer.alloc(40);
        badPadding[0] = 0xa0; // padding bit
        badPadding[39] = 200; // more padding than packet
        packets.push(badPadding);
        break;
      }
      default: {
        const noise = Buffer.alloc(1 + Math.floor(random() * 300));
        for (let byte = 0; byte < noise.length; byte += 1) noise[byte] = Math.floor(random() * 256);
        noise[0] = (noise[0] as number) & 0x3f; // never version 2
        packets.push(noise);
      }
    }
  }
  return packets;
}
