/** A UDP source or destination. */
export interface RtpSource {
  address: string;
  port: number;
}

/** Foreign packets dropped by every transport of this process (for the Prometheus counter). */
let foreignPacketsInProcess = 0;

/** Packets from a source other than the latched one, dropped by any RTP transport of this process so far. */
export function foreignRtpPacketsInProcess(): number {
  return foreignPacketsInProcess;
}

function same(a: RtpSource | undefined, address: string, port: number): boolean {
  return a !== undefined && a.address === address && a.port === port;
}

/**
 * Which source an RTP transport takes the caller's audio from, as Asterisk's `strictrtp`: the
 * first source that sends a valid packet is latched, and packets from any other address or
 * port are dropped and counted, so a stranger who finds the port can neither inject audio nor
 * restart the stream with SSRCs of its own. The endpoint Asterisk announced
 * (`UNICASTRTP_LOCAL_ADDRESS`/`PORT`) outranks whoever was first: once packets come from it
 * the latch moves there for good (a packet that raced Asterisk's first one does not keep the
 * call); when Asterisk is behind NAT its packets come from elsewhere, and the first source
 * stays latched. SSRC changes from the latched source are the stream's own (Asterisk changes
 * SSRC when the bridge changes) and are the transport's to handle.
 */
export class RtpSourceLatch {
  private latched: RtpSource | undefined;
  private announced: RtpSource | undefined;
  private foreign = 0;
  private moves = 0;

  constructor(announced?: RtpSource) {
    this.announced = announced ? { ...announced } : undefined;
  }

  /** The endpoint Asterisk announced for its side of the media (`setRemote`). */
  announce(endpoint: RtpSource): void {
    this.announced = { ...endpoint };
  }

  /** The source audio is taken from, once one is latched. */
  source(): RtpSource | undefined {
    return this.latched ? { ...this.latched } : undefined;
  }

  /** Packets dropped because they came from another source. */
  get foreignPackets(): number {
    return this.foreign;
  }

  /** Times the latch moved from the first source to the announced endpoint. */
  get relatches(): number {
    return this.moves;
  }

  /**
   * Checked before a packet is even parsed: whether it comes from a source that must be
   * ignored (counted). Before the first valid packet nothing is foreign.
   */
  dropsForeign(address: string, port: number): boolean {
    if (this.latched === undefined || same(this.latched, address, port) || same(this.announced, address, port)) return false;
    this.foreign += 1;
    foreignPacketsInProcess += 1;
    return true;
  }

  /**
   * Takes a valid packet from a source `dropsForeign` let through. Returns `latched` for the
   * first packet and when the latch moves to the announced endpoint (a new stream: the
   * receiver restarts), `same` otherwise.
   */
  accept(address: string, port: number): 'latched' | 'same' {
    if (same(this.latched, address, port)) return 'same';
    if (this.latched !== undefined) this.moves += 1;
    this.latched = { address, port };
    return 'latched';
  }
}
