/** Signal helpers for the media tests and benchmarks. */

/** A sine tone as int16 samples. */
export function sineWave(frequencyHz: number, sampleRate: number, samples: number, amplitude = 10_000, startSample = 0): Int16Array {
  const output = new Int16Array(samples);
  for (let index = 0; index < samples; index += 1) {
    output[index] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * (startSample + index)) / sampleRate));
  }
  return output;
}

/** Deterministic white noise (xorshift) as int16 samples. */
export function whiteNoise(samples: number, amplitude: number, seed = 12_345): Int16Array {
  const output = new Int16Array(samples);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < samples; index += 1) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    output[index] = Math.round(((state / 0xffffffff) * 2 - 1) * amplitude);
  }
  return output;
}

/** Root mean square of a block. */
export function rms(samples: ArrayLike<number>): number {
  let sum = 0;
  for (let index = 0; index < samples.length; index += 1) sum += (samples[index] as number) ** 2;
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
}

/** Magnitude of one frequency in a block (Goertzel), normalised to the tone's amplitude. */
export function toneMagnitude(samples: ArrayLike<number>, frequencyHz: number, sampleRate: number): number {
  const omega = (2 * Math.PI * frequencyHz) / sampleRate;
  const coefficient = 2 * Math.cos(omega);
  let previous = 0;
  let beforePrevious = 0;
  for (let index = 0; index < samples.length; index += 1) {
    const current = (samples[index] as number) + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
  }
  const power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
  return (2 * Math.sqrt(Math.max(0, power))) / samples.length;
}

/** The frequency (searched on a grid) with the largest Goertzel magnitude. */
export function dominantFrequency(samples: ArrayLike<number>, sampleRate: number, fromHz: number, toHz: number, stepHz = 10): number {
  let best = fromHz;
  let bestMagnitude = -1;
  for (let frequency = fromHz; frequency <= toHz; frequency += stepHz) {
    const magnitude = toneMagnitude(samples, frequency, sampleRate);
    if (magnitude > bestMagnitude) {
      bestMagnitude = magnitude;
      best = frequency;
    }
  }
  return best;
}

/** Concatenates int16 blocks. */
export function concatSamples(blocks: Int16Array[]): Int16Array {
  const output = new Int16Array(blocks.reduce((sum, block) => sum + block.length, 0));
  let offset = 0;
  for (const block of blocks) {
    output.set(block, offset);
    offset += block.length;
  }
  return output;
}
