import { describe, expect, it } from 'vitest';
import { benchmarks, type Figures, type Outcome } from './benchmarks.ts';
import { issue15Keys, issue15Sources, reportFigures, type BenchRun } from './report-figures.ts';

function run(figuresById: Record<string, Figures>): BenchRun {
  const outcomes: Outcome[] = benchmarks.map((bench) => {
    const figures = figuresById[bench.id];
    return { bench, status: figures ? 'ok' : 'not run', seconds: 1, stdout: '', stderr: '', figures: figures ?? {}, commandLine: '' };
  });
  return { command: 'pnpm bench', quick: true, startedAt: new Date(0), totalSeconds: 10, loadBefore: [0.5, 0, 0], loadAfter: [0.5, 0, 0], outcomes };
}

describe('reportFigures: issue 15 keys', () => {
  it('names an existing benchmark for every key', () => {
    for (const id of Object.values(issue15Sources)) expect(benchmarks.map((bench) => bench.id)).toContain(id);
  });

  it('puts every key in report.json as null when nothing ran', () => {
    const { json } = reportFigures(run({}));
    for (const key of issue15Keys) expect(json[key], key).toBeNull();
  });

  it('carries the benchmarks\' figures into report.json', () => {
    const { json } = reportFigures(
      run({
        caller: { caller_first_audio_p50_ms: 812.5, caller_first_audio_p95_ms: 901, provider_latency_sum_ms: 655.25, endpointing_wait_p50_ms: 640 },
        'false-end-of-turn': { false_end_of_turn_count: 1, false_end_of_turn_corpus_size: 32 },
        'overhead-wire': { pipeline_overhead_wire_p50_ms: 1.25, pipeline_overhead_wire_p95_ms: 3.5 },
        'bargein-heard': { bargein_heard_p50_ms: 620 },
        'calls-silero': {
          media_silero_calls_200_cpu_us_per_call_frame: 41.5,
          media_silero_calls_200_calls_per_core_cpu: 481,
          media_silero_calls_200_rx_jitter_p99_ms: 1.5,
          media_silero_calls_200_bare_timer_p99_ms: 1,
        },
        rest: { rest_get_ai_ratio_to_fastify_pg: 0.91234 },
        resampler: { resampler_inband_snr_db: 40.1, sox_inband_snr_db: 42.2, resampler_alias_rejection_transition_db: 30.3 },
      }),
    );
    expect(json).toMatchObject({
      caller_first_audio_p50_ms: 812.5,
      caller_first_audio_p95_ms: 901,
      provider_latency_sum_ms: 655.25,
      endpointing_wait_p50_ms: 640,
      false_end_of_turn_count: 1,
      false_end_of_turn_corpus_size: 32,
      pipeline_overhead_wire_p50_ms: 1.25,
      pipeline_overhead_wire_p95_ms: 3.5,
      bargein_heard_p50_ms: 620,
      media_cpu_us_per_call_frame: 41.5,
      calls_per_core_cpu: 481,
      jitter_p99_ratio_to_timer_200_calls: 1.5,
      rest_get_ai_ratio_to_fastify_pg: 0.912,
      resampler_inband_snr_db: 40.1,
      sox_inband_snr_db: 42.2,
      resampler_alias_rejection_transition_db: 30.3,
    });
    for (const key of issue15Keys) expect(typeof json[key], key).toBe('number');
  });
});
