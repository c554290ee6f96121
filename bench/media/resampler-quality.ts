/**
 * Resampler quality: 8 -> 16 -> 8 kHz round-trip SNR on speech, and alias / image rejection on
 * sweeps, for several speex quality levels (the engine uses DEFAULT_RESAMPLER_QUALITY).
 * Run: pnpm tsx bench/media/resampler-quality.ts
 * With BENCH_JSON=<file>, also writes the figures as JSON: resampler_roundtrip_snr_db,
 * resampler_alias_rejection_db, ... at the engine's default quality, and q<N>_... per quality.
 */
import { fileURLToPath } from 'node:url';
import { DEFAULT_RESAMPLER_QUALITY, SpeexResampler } from '../../services/pipeline-manager/src/media/speex-resampler.ts';
import { readPcmWav } from '../../services/pipeline-manager/src/media/testing/wav.ts';
import { writeBenchJson } from '../lib/bench-json.ts';

const speech = readPcmWav(fileURLToPath(new URL('../../services/pipeline-manager/src/media/fixtures/speech-16k.wav', import.meta.url)));

/** Runs a whole signal through a resampler in 20 ms blocks, as the engine does. */
function resampleBlocks(resampler: SpeexResampler, input: Int16Array, blockIn: number): Int16Array {
  const blockOut = Math.round((blockIn * resampler.outputRate) / resampler.inputRate);
  const output = new Int16Array(Math.floor(input.length / blockIn) * blockOut);
  const out = new Int16Array(blockOut);
  let written = 0;
  for (let offset = 0; offset + blockIn <= input.length; offset += blockIn) {
    const count = resampler.process(input.subarray(offset, offset + blockIn), out);
    output.set(out.subarray(0, count), written);
    written += count;
  }
  return output.subarray(0, written);
}

/** SNR of `test` against `reference` at the best alignment (resamplers add delay). */
function alignedSnr(reference: Int16Array, test: Int16Array, maxLag: number): { snrDb: number; lag: number } {
  let best = { snrDb: -Infinity, lag: 0 };
  for (let lag = 0; lag <= maxLag; lag += 1) {
    let signal = 0;
    let noise = 0;
    for (let index = 200; index + lag < test.length && index < reference.length - 200; index += 1) {
      const r = reference[index] as number;
      const d = r - (test[index + lag] as number);
      signal += r * r;
      noise += d * d;
    }
    const snrDb = 10 * Math.log10(signal / Math.max(noise, 1e-9));
    if (snrDb > best.snrDb) best = { snrDb, lag };
  }
  return best;
}

function power(samples: ArrayLike<number>, from = 0): number {
  let sum = 0;
  for (let index = from; index < samples.length; index += 1) sum += (samples[index] as number) ** 2;
  return sum / Math.max(1, samples.length - from);
}

/** Linear chirp from f0 to f1 Hz. */
function chirp(sampleRate: number, seconds: number, f0: number, f1: number, amplitude: number): Int16Array {
  const samples = Math.round(sampleRate * seconds);
  const output = new Int16Array(samples);
  for (let index = 0; index < samples; index += 1) {
    const t = index / sampleRate;
    const phase = 2 * Math.PI * (f0 * t + ((f1 - f0) / (2 * seconds)) * t * t);
    output[index] = Math.round(amplitude * Math.sin(phase));
  }
  return output;
}

/** Energy above `cutHz` vs total, by DFT over blocks (rough spectrum split). */
function bandSplitDb(samples: Int16Array, sampleRate: number, cutHz: number): number {
  const size = 1024;
  let low = 0;
  let high = 0;
  for (let offset = 0; offset + size <= samples.length; offset += size) {
    for (let bin = 1; bin < size / 2; bin += 1) {
      let re = 0;
      let im = 0;
      for (let index = 0; index < size; index += 1) {
        const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * index) / (size - 1));
        const value = (samples[offset + index] as number) * window;
        re += value * Math.cos((2 * Math.PI * bin * index) / size);
        im -= value * Math.sin((2 * Math.PI * bin * index) / size);
      }
      const energy = re * re + im * im;
      if ((bin * sampleRate) / size >= cutHz) high += energy;
      else low += energy;
    }
  }
  return 10 * Math.log10(low / Math.max(high, 1e-9));
}

/** Band-limits 8 kHz audio to about 3.2 kHz by a best-quality trip through 6.8 kHz. */
async function bandLimit(input: Int16Array): Promise<Int16Array> {
  const down = await SpeexResampler.create(8000, 6800, 10);
  const up = await SpeexResampler.create(6800, 8000, 10);
  const result = resampleBlocks(up, resampleBlocks(down, input, 160), 136);
  down.destroy();
  up.destroy();
  const lag = alignedSnr(input, result, 400).lag;
  return result.subarray(lag);
}

console.log(`speech fixture: ${(speech.samples.length / 16_000).toFixed(2)} s; engine default quality ${DEFAULT_RESAMPLER_QUALITY}`);
console.log('quality | speech 8->16->8 SNR dB | same, speech band-limited to 3.2 kHz | alias rejection 16->8 (4-8 kHz sweep) dB | image rejection 8->16 (0-4 kHz sweep) dB | passband 300-3400 Hz deviation dB');
for (const quality of [3, 4, 5, 6, 8, 10]) {
  // Narrowband reference: the speech as an 8 kHz telephone line would carry it.
  const toNarrow = await SpeexResampler.create(16_000, 8000, 10);
  const narrow = resampleBlocks(toNarrow, speech.samples, 320);
  toNarrow.destroy();
  const up = await SpeexResampler.create(8000, 16_000, quality);
  const down = await SpeexResampler.create(16_000, 8000, quality);
  const roundTrip = resampleBlocks(down, resampleBlocks(up, narrow, 160), 320);
  const { snrDb, lag } = alignedSnr(narrow, roundTrip, 400);
  // The same on speech band-limited to ~3.2 kHz (telephone band), where the filters' transition band does not bite.
  const limited = await bandLimit(narrow);
  const upLimited = await SpeexResampler.create(8000, 16_000, quality);
  const downLimited = await SpeexResampler.create(16_000, 8000, quality);
  const limitedTrip = resampleBlocks(downLimited, resampleBlocks(upLimited, limited, 160), 320);
  const inBand = alignedSnr(limited, limitedTrip, 400);
  upLimited.destroy();
  downLimited.destroy();
  up.destroy();
  down.destroy();

  // Alias rejection: a 4-8 kHz sweep must vanish when going to 8 kHz.
  const aliasDown = await SpeexResampler.create(16_000, 8000, quality);
  const sweepHigh = chirp(16_000, 4, 4200, 7800, 10_000);
  const aliased = resampleBlocks(aliasDown, sweepHigh, 320);
  const aliasRejectionDb = 10 * Math.log10(power(sweepHigh) / Math.max(power(aliased, 400), 1e-9));
  aliasDown.destroy();

  // Image rejection: upsampling a 0-4 kHz sweep must not create energy above 4 kHz.
  const imageUp = await SpeexResampler.create(8000, 16_000, quality);
  const sweepLow = chirp(8000, 1.5, 100, 3700, 10_000);
  const upsampled = resampleBlocks(imageUp, sweepLow, 160);
  const imageRejectionDb = bandSplitDb(upsampled.subarray(800), 16_000, 4150);
  imageUp.destroy();

  // Passband: tones through 8 -> 16 -> 8 keep their level.
  let worst = 0;
  for (const frequency of [300, 1000, 2000, 3000, 3400]) {
    const u = await SpeexResampler.create(8000, 16_000, quality);
    const d = await SpeexResampler.create(16_000, 8000, quality);
    const tone = chirp(8000, 0.5, frequency, frequency, 8000);
    const back = resampleBlocks(d, resampleBlocks(u, tone, 160), 320);
    const deviation = 10 * Math.log10(power(back, 800) / power(tone, 800));
    if (Math.abs(deviation) > Math.abs(worst)) worst = deviation;
    u.destroy();
    d.destroy();
  }
  const figures = {
    roundtrip_snr_db: snrDb,
    roundtrip_snr_bandlimited_db: inBand.snrDb,
    alias_rejection_db: aliasRejectionDb,
    image_rejection_db: imageRejectionDb,
    passband_deviation_db: worst,
  };
  writeBenchJson(Object.fromEntries(Object.entries(figures).map(([name, value]) => [`q${quality}_${name}`, value])));
  if (quality === DEFAULT_RESAMPLER_QUALITY) {
    writeBenchJson({ resampler_quality: quality, ...Object.fromEntries(Object.entries(figures).map(([name, value]) => [`resampler_${name}`, value])) });
  }
  console.log(
    `${String(quality).padStart(7)} | ${snrDb.toFixed(1).padStart(22)} (lag ${lag}) | ${inBand.snrDb.toFixed(1).padStart(10)} | ${aliasRejectionDb.toFixed(1).padStart(40)} | ${imageRejectionDb.toFixed(1).padStart(40)} | ${worst.toFixed(2).padStart(6)}`,
  );
}
