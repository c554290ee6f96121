/**
 * The web session's audio format and the pure pieces of the page's audio path: the microphone
 * as 20 ms frames of 16 kHz mono PCM16 (little-endian, as the platform wants it), and a queue
 * of the AI's speech the player reads from. Used inside the AudioWorklet (audio-worklet.ts)
 * and tested on their own.
 */

/** The web session's sample rate; the page's AudioContext runs at it, so nothing resamples here. */
export const SAMPLE_RATE = 16_000;
/** Samples in one 20 ms frame. */
export const FRAME_SAMPLES = 320;

/** One sample from [-1, 1] to a 16-bit integer, clipped. */
export function toPcm16Sample(value: number): number {
  const clipped = Math.max(-1, Math.min(1, Number.isFinite(value) ? value : 0));
  return clipped < 0 ? Math.round(clipped * 0x8000) : Math.round(clipped * 0x7fff);
}

/** Little-endian PCM16 bytes to samples in [-1, 1] (an odd last byte is ignored). */
export function pcm16ToFloat(bytes: ArrayBuffer): Float32Array {
  const view = new DataView(bytes);
  const samples = new Float32Array(Math.floor(bytes.byteLength / 2));
  for (let index = 0; index < samples.length; index += 1) samples[index] = view.getInt16(index * 2, true) / 0x8000;
  return samples;
}

/**
 * Gathers the microphone's render quanta (128 samples each in an AudioWorklet) into whole 20 ms
 * frames of little-endian PCM16: `push` returns the frames it completed, each its own buffer
 * (they are transferred to the main thread).
 */
export class FrameAccumulator {
  private frame = new DataView(new ArrayBuffer(FRAME_SAMPLES * 2));
  private filled = 0;

  push(samples: Float32Array): ArrayBuffer[] {
    const frames: ArrayBuffer[] = [];
    for (const sample of samples) {
      this.frame.setInt16(this.filled * 2, toPcm16Sample(sample), true);
      this.filled += 1;
      if (this.filled === FRAME_SAMPLES) {
        frames.push(this.frame.buffer as ArrayBuffer);
        this.frame = new DataView(new ArrayBuffer(FRAME_SAMPLES * 2));
        this.filled = 0;
      }
    }
    return frames;
  }
}

/**
 * The AI's speech waiting to be played: chunks in, samples out in render quanta. `clear` drops
 * everything at once (a barge-in). Bounded: past `maxSamples` the oldest audio is dropped (a
 * page that stopped rendering must not grow without end); `dropped` counts it.
 */
export class PlaybackQueue {
  private readonly chunks: Float32Array[] = [];
  private offset = 0;
  private queued = 0;
  /** Samples played so far (written to the output). */
  played = 0;
  dropped = 0;

  constructor(private readonly maxSamples = SAMPLE_RATE * 60) {}

  get queuedSamples(): number {
    return this.queued;
  }

  push(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.chunks.push(samples);
    this.queued += samples.length;
    while (this.queued > this.maxSamples && this.chunks.length > 1) {
      const oldest = this.chunks.shift()!;
      this.queued -= oldest.length - this.offset;
      this.dropped += oldest.length - this.offset;
      this.offset = 0;
    }
  }

  /** Fills `output` (silence past the end); returns the number of queued samples written. */
  read(output: Float32Array): number {
    let written = 0;
    while (written < output.length && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const count = Math.min(output.length - written, chunk.length - this.offset);
      output.set(chunk.subarray(this.offset, this.offset + count), written);
      written += count;
      this.offset += count;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    output.fill(0, written);
    this.queued -= written;
    this.played += written;
    return written;
  }

  clear(): number {
    const dropped = this.queued;
    this.chunks.length = 0;
    this.offset = 0;
    this.queued = 0;
    return dropped;
  }
}

/** Root mean square of samples in [-1, 1]. */
export function rootMeanSquare(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return Math.sqrt(sum / samples.length);
}
