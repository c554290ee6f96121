/**
 * Machine-readable figures of a benchmark, for `bench/run-all.ts`: when the environment
 * variable BENCH_JSON names a file, `writeBenchJson` writes the figures there as one flat JSON
 * object of numbers (a figure that could not be measured is null, never made up). Without
 * BENCH_JSON it does nothing, so a benchmark's printed output stays what it was.
 */
import { writeFileSync } from 'node:fs';

export type BenchFigures = Record<string, number | null | undefined>;

/** Everything written so far by this process (a benchmark may write in several steps). */
const collected: Record<string, number | null> = {};

/** A finite number rounded to `digits` decimals, or null (NaN, Infinity, undefined). */
export function figure(value: number | undefined | null, digits = 3): number | null {
  if (value === undefined || value === null || !Number.isFinite(value)) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Writes `figures` to the file BENCH_JSON names (merging with what an earlier call wrote). */
export function writeBenchJson(figures: BenchFigures): void {
  const file = process.env.BENCH_JSON;
  if (!file) return;
  const flat: Record<string, number | null> = { ...collected };
  for (const [key, value] of Object.entries(figures)) flat[key] = typeof value === 'number' ? figure(value, 4) : null;
  Object.assign(collected, flat);
  writeFileSync(file, `${JSON.stringify(flat, null, 2)}\n`);
}
