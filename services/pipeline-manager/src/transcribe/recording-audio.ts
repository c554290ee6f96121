import { z } from 'zod';
import { SpeexResampler } from '../media/speex-resampler.ts';

/** One window of a stored recording's audio, as flow-manager's `GET /v1/recordings/{id}/audio` answers it. */
export const recordingWindowSchema = z.object({
  sample_rate: z.number().int().positive(),
  offset_ms: z.number().int().min(0),
  /** The whole recording's length. */
  duration_ms: z.number().int().min(0),
  /** 16-bit little-endian mono PCM of the asked direction, base64. */
  audio: z.string(),
});
export type RecordingWindow = z.infer<typeof recordingWindowSchema>;

/** Reads `length_ms` of audio from `offset_ms` on. */
export type RecordingWindowReader = (offsetMs: number, lengthMs: number) => Promise<RecordingWindow>;

/** How much audio one request to flow-manager asks for. */
export const recordingWindowMs = 20_000;

/** 20 ms frames at `rate`. */
const frameSamples = (rate: number) => rate / 50;

function pcmOf(window: RecordingWindow): Int16Array {
  const bytes = Buffer.from(window.audio, 'base64');
  const samples = new Int16Array(bytes.length >> 1);
  for (let index = 0; index < samples.length; index++) samples[index] = bytes.readInt16LE(index * 2);
  return samples;
}

/**
 * A stored recording's audio (one direction) as 20 ms frames at `outputRate`, read from
 * flow-manager a window at a time and resampled as it comes. Ends after the last window.
 */
export async function* recordingFrames(read: RecordingWindowReader, outputRate: number): AsyncGenerator<Int16Array> {
  let resampler: SpeexResampler | undefined;
  let pending = new Int16Array(0);
  try {
    for (let offsetMs = 0; ; offsetMs += recordingWindowMs) {
      const window = await read(offsetMs, recordingWindowMs);
      if (window.sample_rate !== outputRate) resampler ??= await SpeexResampler.create(window.sample_rate, outputRate);
      const input = pcmOf(window);
      let output = input;
      if (resampler) {
        // The resampler takes blocks of at most 4096 samples and writes input * ratio samples for each.
        output = new Int16Array(Math.ceil((input.length * outputRate) / window.sample_rate) + 64);
        let written = 0;
        for (let start = 0; start < input.length; start += 4000) {
          const block = input.subarray(start, Math.min(start + 4000, input.length));
          written += resampler.process(block, output.subarray(written));
        }
        output = output.subarray(0, written);
      }
      const joined = new Int16Array(pending.length + output.length);
      joined.set(pending);
      joined.set(output, pending.length);
      const size = frameSamples(outputRate);
      let start = 0;
      for (; start + size <= joined.length; start += size) yield joined.slice(start, start + size);
      pending = joined.slice(start);
      if (input.length === 0 || offsetMs + recordingWindowMs >= window.duration_ms) break;
    }
    if (pending.length > 0) {
      const last = new Int16Array(frameSamples(outputRate));
      last.set(pending);
      yield last;
    }
  } finally {
    resampler?.destroy();
  }
}
