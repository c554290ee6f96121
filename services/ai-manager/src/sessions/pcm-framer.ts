/** Bytes of one 20 ms frame of 16 kHz mono 16-bit PCM: what a web session's media carries. */
export const WEB_FRAME_BYTES = 640;

/**
 * Cuts a byte stream into whole frames of `frameBytes`: browsers send what their audio callback
 * produced (128-sample render quanta, or any size), the pipeline's media protocol wants 20 ms
 * frames. Holds the remainder for the next push; never more than one frame.
 */
export class PcmFramer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly frameBytes = WEB_FRAME_BYTES) {}

  /** The whole frames completed by `chunk`, in order (copies: the input can be reused). */
  push(chunk: Uint8Array): Buffer[] {
    const data = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    let offset = 0;
    while (data.length - offset >= this.frameBytes) {
      frames.push(Buffer.from(data.subarray(offset, offset + this.frameBytes)));
      offset += this.frameBytes;
    }
    this.pending = Buffer.from(data.subarray(offset));
    return frames;
  }

  /** Bytes held for the next frame. */
  get pendingBytes(): number {
    return this.pending.length;
  }
}
