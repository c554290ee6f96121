/** The pipeline's internal audio format: 20 ms frames of 16-bit mono PCM at 16 kHz. */
export const INTERNAL_SAMPLE_RATE = 16_000;
/** Duration of one frame in milliseconds. */
export const FRAME_MS = 20;
/** Samples in one internal frame (20 ms at 16 kHz). */
export const FRAME_SAMPLES = (INTERNAL_SAMPLE_RATE * FRAME_MS) / 1000;
/** Samples in one 20 ms frame at 8 kHz (G.711). */
export const NARROWBAND_FRAME_SAMPLES = FRAME_SAMPLES / 2;

/** One internal frame: exactly {@link FRAME_SAMPLES} samples. */
export type AudioFrame = Int16Array;

/** Allocates a silent internal frame. */
export function createFrame(): AudioFrame {
  return new Int16Array(FRAME_SAMPLES);
}

/** Root mean square of a block of 16-bit samples (0 .. 32768). */
export function rootMeanSquare(samples: Int16Array): number {
  let sum = 0;
  for (let index = 0; index < samples.length; index += 1) {
    const value = samples[index] as number;
    sum += value * value;
  }
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
}

/**
 * Splits 16 kHz PCM of any length into 20 ms frames; the last partial frame is padded with
 * silence. Meant for producers (TTS) that deliver arbitrary chunk sizes, not for the hot path.
 */
export class FrameChunker {
  private readonly pending = new Int16Array(FRAME_SAMPLES);
  private pendingLength = 0;

  /** Feeds samples and returns the complete frames they finish (newly allocated). */
  push(samples: Int16Array): AudioFrame[] {
    const frames: AudioFrame[] = [];
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(FRAME_SAMPLES - this.pendingLength, samples.length - offset);
      this.pending.set(samples.subarray(offset, offset + take), this.pendingLength);
      this.pendingLength += take;
      offset += take;
      if (this.pendingLength === FRAME_SAMPLES) {
        frames.push(this.pending.slice());
        this.pendingLength = 0;
      }
    }
    return frames;
  }

  /** Returns the buffered remainder padded to a full frame, or nothing when empty. */
  flush(): AudioFrame | undefined {
    if (this.pendingLength === 0) return undefined;
    const frame = createFrame();
    frame.set(this.pending.subarray(0, this.pendingLength));
    this.pendingLength = 0;
    return frame;
  }
}
