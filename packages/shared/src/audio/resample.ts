import { SpeexResampler } from './speex-resampler.ts';
import type { PcmAudio } from './wav.ts';

/**
 * Resamples a whole clip (not a stream) with the band-limited speex resampler, compensating
 * its delay so the output lines up with the input and has length input * ratio.
 */
export async function resampleClip(audio: PcmAudio, outputRate: number, quality?: number): Promise<PcmAudio> {
  if (audio.sampleRate === outputRate) return { sampleRate: outputRate, samples: audio.samples.slice() };
  const resampler = await SpeexResampler.create(audio.sampleRate, outputRate, quality);
  try {
    const latency = resampler.inputLatency;
    // Zeros after the clip push its tail through the filter.
    const input = new Int16Array(audio.samples.length + latency + 16);
    input.set(audio.samples);
    const ratio = outputRate / audio.sampleRate;
    const produced: Int16Array[] = [];
    const block = 2048;
    const scratch = new Int16Array(Math.ceil(block * ratio) + 64);
    for (let start = 0; start < input.length; start += block) {
      const written = resampler.process(input.subarray(start, Math.min(input.length, start + block)), scratch);
      produced.push(scratch.slice(0, written));
    }
    const total = produced.reduce((sum, part) => sum + part.length, 0);
    const all = new Int16Array(total);
    let offset = 0;
    for (const part of produced) {
      all.set(part, offset);
      offset += part.length;
    }
    const skip = Math.round(latency * ratio);
    const length = Math.round(audio.samples.length * ratio);
    return { sampleRate: outputRate, samples: all.slice(skip, skip + length) };
  } finally {
    resampler.destroy();
  }
}

/** A stateful resampler for a stream of PCM chunks of any size. */
export interface StreamResampler {
  process(pcm: Int16Array): Int16Array;
  destroy(): void;
}

/**
 * A speex resampler for a stream (TTS audio from a vendor at its own rate): chunks of any
 * length, filter state carried across them, so there are no clicks at chunk edges.
 */
export async function createStreamResampler(fromRate: number, toRate: number, quality?: number): Promise<StreamResampler> {
  const speex = await SpeexResampler.create(fromRate, toRate, quality);
  const block = 4096;
  return {
    process(pcm) {
      const out = new Int16Array(Math.ceil((pcm.length * toRate) / fromRate) + 64);
      let written = 0;
      for (let offset = 0; offset < pcm.length; offset += block) {
        written += speex.process(pcm.subarray(offset, Math.min(pcm.length, offset + block)), out.subarray(written));
      }
      return out.slice(0, written);
    },
    destroy: () => speex.destroy(),
  };
}
