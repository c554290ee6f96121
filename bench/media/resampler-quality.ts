/**
 * Resampler quality: 8 -> 16 -> 8 kHz round-trip SNR on speech, and alias / image rejection on
 * sweeps, for several speex quality levels (the engine uses DEFAULT_RESAMPLER_QUALITY).
 * Run: pnpm tsx bench/media/resampler-quality.ts
 * With BENCH_JSON=<file>, also writes the figures as JSON: resampler_roundtrip_snr_db,
 * resampler_alias_rejection_db, ... at the engine's default quality, and q<N>_... per quality.
 *
 * The full-band round-trip SNR (about 26 dB at quality 6) mostly measures the test signal's
 * energy above 3.76 kHz, which any 8 kHz resampler's anti-alias filter must remove. The honest
 * figures are therefore in-band: `resampler_inband_snr_db` is the round trip's SNR counted in
 * the telephone band 0-3.4 kHz only (spectra of the speech and of the error, Blackman-Harris
 * windowed 1024-point blocks), and `resampler_alias_rejection_transition_db` the rejection of a
 * 4.0-7.8 kHz sweep going 16 -> 8 kHz (from the Nyquist frequency up, transition band
 * included). The same two are measured in the same run on sox's very-high-quality resampler
 * (`sox ... rate -v`, when sox is installed): `sox_inband_snr_db`, `sox_alias_rejection_transition_db`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** In-place radix-2 FFT (length a power of two). */
function fft(re: Float64Array, im: Float64Array): void {
  const size = re.length;
  for (let index = 1, reversed = 0; index < size; index += 1) {
    let bit = size >> 1;
    for (; reversed & bit; bit >>= 1) reversed ^= bit;
    reversed ^= bit;
    if (index < reversed) {
      [re[index], re[reversed]] = [re[reversed] as number, re[index] as number];
      [im[index], im[reversed]] = [im[reversed] as number, im[index] as number];
    }
  }
  for (let length = 2; length <= size; length <<= 1) {
    const angle = (-2 * Math.PI) / length;
    for (let start = 0; start < size; start += length) {
      for (let k = 0; k < length / 2; k += 1) {
        const wr = Math.cos(angle * k);
        const wi = Math.sin(angle * k);
        const a = start + k;
        const b = a + length / 2;
        const xr = (re[b] as number) * wr - (im[b] as number) * wi;
        const xi = (re[b] as number) * wi + (im[b] as number) * wr;
        re[b] = (re[a] as number) - xr;
        im[b] = (im[a] as number) - xi;
        re[a] = (re[a] as number) + xr;
        im[a] = (im[a] as number) + xi;
      }
    }
  }
}

/** Energy of `samples` between `fromHz` and `toHz` (Blackman-Harris-windowed 1024-point blocks, half overlap). */
function bandEnergy(samples: ArrayLike<number>, sampleRate: number, fromHz: number, toHz: number): number {
  const size = 1024;
  let energy = 0;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let offset = 0; offset + size <= samples.length; offset += size / 2) {
    for (let index = 0; index < size; index += 1) {
      // 4-term Blackman-Harris (sidelobes below -92 dB): the error's large energy above 3.5 kHz must not leak into the band.
      const x = (2 * Math.PI * index) / size;
      const window = 0.35875 - 0.48829 * Math.cos(x) + 0.14128 * Math.cos(2 * x) - 0.01168 * Math.cos(3 * x);
      re[index] = (samples[offset + index] as number) * window;
      im[index] = 0;
    }
    fft(re, im);
    for (let bin = 0; bin <= size / 2; bin += 1) {
      const hz = (bin * sampleRate) / size;
      if (hz >= fromHz && hz <= toHz) energy += (re[bin] as number) ** 2 + (im[bin] as number) ** 2;
    }
  }
  return energy;
}

/** SNR of a round trip counted in 0-3.4 kHz only: the reference's energy there over the error's. */
function inBandSnr(reference: Int16Array, test: Int16Array): number {
  const { lag } = alignedSnr(reference, test, 400);
  const length = Math.min(reference.length - 400, test.length - lag) - 200;
  const signal = new Float64Array(length);
  const error = new Float64Array(length);
  for (let index = 0; index < length; index += 1) {
    signal[index] = reference[index + 200] as number;
    error[index] = (reference[index + 200] as number) - (test[index + 200 + lag] as number);
  }
  return 10 * Math.log10(bandEnergy(signal, 8000, 0, 3400) / Math.max(bandEnergy(error, 8000, 0, 3400), 1e-9));
}

/** Rejection of a 4.0-7.8 kHz sweep going 16 -> 8 kHz through `resample`, in dB. */
function aliasRejection(resample: (input: Int16Array) => Int16Array): number {
  const sweep = chirp(16_000, 4, 4000, 7800, 10_000);
  return 10 * Math.log10(power(sweep) / Math.max(power(resample(sweep), 400), 1e-9));
}

/** sox's resampler at very high quality (`rate -v`), on raw 16-bit mono; undefined without sox. */
function soxRate(input: Int16Array, fromRate: number, toRate: number): Int16Array | undefined {
  const directory = mkdtempSync(join(tmpdir(), 'resampler-sox-'));
  try {
    writeFileSync(join(directory, 'in.raw'), new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
    const raw = ['-t', 'raw', '-e', 'signed', '-b', '16', '-c', '1'];
    execFileSync('sox', [...raw, '-r', String(fromRate), join(directory, 'in.raw'), ...raw, join(directory, 'out.raw'), 'rate', '-v', String(toRate)], { stdio: 'ignore' });
    const bytes = readFileSync(join(directory, 'out.raw'));
    return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength - (bytes.byteLength % 2)));
  } catch {
    return undefined;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

console.log(`speech fixture: ${(speech.samples.length / 16_000).toFixed(2)} s; engine default quality ${DEFAULT_RESAMPLER_QUALITY}`);
{
  // In-band figures, speex at the engine's quality beside sox -v, on the same signals.
  const toNarrow = await SpeexResampler.create(16_000, 8000, 10);
  const narrow = resampleBlocks(toNarrow, speech.samples, 320);
  toNarrow.destroy();
  const up = await SpeexResampler.create(8000, 16_000, DEFAULT_RESAMPLER_QUALITY);
  const down = await SpeexResampler.create(16_000, 8000, DEFAULT_RESAMPLER_QUALITY);
  const speexInBand = inBandSnr(narrow, resampleBlocks(down, resampleBlocks(up, narrow, 160), 320));
  up.destroy();
  down.destroy();
  const aliasDown = await SpeexResampler.create(16_000, 8000, DEFAULT_RESAMPLER_QUALITY);
  const speexAlias = aliasRejection((input) => resampleBlocks(aliasDown, input, 320));
  aliasDown.destroy();
  const soxWide = soxRate(narrow, 8000, 16_000);
  const soxTrip = soxWide ? soxRate(soxWide, 16_000, 8000) : undefined;
  const soxInBand = soxTrip ? inBandSnr(narrow, soxTrip) : undefined;
  const soxAlias = soxTrip ? aliasRejection((input) => soxRate(input, 16_000, 8000) ?? new Int16Array(0)) : undefined;
  writeBenchJson({
    resampler_inband_snr_db: speexInBand,
    resampler_alias_rejection_transition_db: speexAlias,
    sox_inband_snr_db: soxInBand,
    sox_alias_rejection_transition_db: soxAlias,
  });
  const show = (value: number | undefined) => (value === undefined ? 'n/a (sox not installed)' : `${value.toFixed(1)} dB`);
  console.log(`8 -> 16 -> 8 kHz round trip, SNR in 0-3.4 kHz: speex q${DEFAULT_RESAMPLER_QUALITY} ${speexInBand.toFixed(1)} dB, sox -v ${show(soxInBand)}`);
  console.log(`16 -> 8 kHz alias rejection of a 4.0-7.8 kHz sweep: speex q${DEFAULT_RESAMPLER_QUALITY} ${speexAlias.toFixed(1)} dB, sox -v ${show(soxAlias)}`);
}
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
