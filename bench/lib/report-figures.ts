/**
 * The figures of a `pnpm bench` run (bench/run-all.ts): each benchmark's own, the ones the
 * report's summary asks for (`required`), the derived ones, and report.json (all of them).
 */
import { cpus } from 'node:os';
import type { Figures, Outcome } from './benchmarks.ts';

/** What bench/run-all.ts hands to the report. */
export interface BenchRun {
  /** The command line, as `pnpm bench ...`. */
  command: string;
  quick: boolean;
  startedAt: Date;
  totalSeconds: number;
  /** os.loadavg() before and after the benchmarks. */
  loadBefore: number[];
  loadAfter: number[];
  /** Every benchmark's outcome, those run first, in the order they ran. */
  outcomes: Outcome[];
}

/** Calls per core of one VAD engine's concurrent-calls run; see `callsPerCore`. */
export interface CallsPerCore {
  callsPerCore: number | null;
  jitter: number | null;
  calls: number | null;
  cpuPct: number | null;
  steps: number[];
}

export interface ReportFigures {
  required: Figures;
  derived: Figures;
  /** report.json: required, derived and every benchmark's figures, rounded to 3 decimals. */
  json: Figures;
  silero: CallsPerCore;
  webrtc: CallsPerCore;
  /** The largest concurrent call count of the overhead benchmark (100 when it did not run). */
  concurrent: number;
}

/**
 * The report.json keys issue 15 asks for, and the benchmark (bench/lib/benchmarks.ts id) that
 * measures each. report.json always holds them (null when not measured).
 */
export const issue15Sources = {
  caller_first_audio_p50_ms: 'caller',
  caller_first_audio_p95_ms: 'caller',
  provider_latency_sum_ms: 'caller',
  endpointing_wait_p50_ms: 'caller',
  false_end_of_turn_count: 'false-end-of-turn',
  false_end_of_turn_corpus_size: 'false-end-of-turn',
  pipeline_overhead_wire_p50_ms: 'overhead-wire',
  pipeline_overhead_wire_p95_ms: 'overhead-wire',
  bargein_heard_p50_ms: 'bargein-heard',
  media_cpu_us_per_call_frame: 'calls-silero',
  calls_per_core_cpu: 'calls-silero',
  jitter_p99_ratio_to_timer_200_calls: 'calls-silero',
  rest_get_ai_ratio_to_fastify_pg: 'rest',
  resampler_inband_snr_db: 'resampler',
  sox_inband_snr_db: 'resampler',
  resampler_alias_rejection_transition_db: 'resampler',
} as const satisfies Record<string, string>;
export const issue15Keys = Object.keys(issue15Sources) as (keyof typeof issue15Sources)[];

export function reportFigures({ quick, totalSeconds, loadBefore, loadAfter, outcomes }: BenchRun): ReportFigures {
  const all: Figures = Object.assign({}, ...outcomes.map((outcome) => outcome.figures)) as Figures;
  const get = (key: string): number | null => (typeof all[key] === 'number' ? all[key] : null);
  const ratio = (numerator: number | null, denominator: number | null): number | null => (numerator === null || denominator === null || denominator <= 0 ? null : numerator / denominator);

  /**
   * Calls per core: the largest tested call count N whose RTP send jitter p99 was below 2 ms (as
   * the benchmark's own last line), divided by the CPU cores the process used at N when that is
   * more than one (Silero's worker thread runs beside the event loop); never scaled up when it
   * used less than one core, since a larger count was not shown to keep the jitter.
   */
  function callsPerCore(prefix: string): CallsPerCore {
    const steps = Object.keys(all)
      .map((key) => new RegExp(`^${prefix}calls_(\\d+)_jitter_p99_ms$`).exec(key)?.[1])
      .filter((value): value is string => value !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    let best: number | null = null;
    for (const calls of steps) {
      const jitter = get(`${prefix}calls_${calls}_jitter_p99_ms`);
      if (jitter !== null && jitter < 2) best = calls;
    }
    if (best === null) return { callsPerCore: null, jitter: null, calls: null, cpuPct: null, steps };
    const cpuPct = get(`${prefix}calls_${best}_cpu_pct`);
    const cores = cpuPct === null ? null : cpuPct / 100;
    return { callsPerCore: cores === null ? null : best / Math.max(1, cores), jitter: get(`${prefix}calls_${best}_jitter_p99_ms`), calls: best, cpuPct, steps };
  }

  const silero = callsPerCore('media_silero_');
  const webrtc = callsPerCore('media_webrtc_');
  const concurrent = (() => {
    const levels = Object.keys(all)
      .map((key) => /^overhead_calls_(\d+)_p50_ms$/.exec(key)?.[1])
      .filter((value): value is string => value !== undefined)
      .map(Number);
    return levels.length > 0 ? Math.max(...levels) : 100;
  })();

  const required: Figures = {
    pipeline_overhead_p50_ms: get(`overhead_calls_${concurrent}_p50_ms`),
    pipeline_overhead_p95_ms: get(`overhead_calls_${concurrent}_p95_ms`),
    bargein_reaction_ms: get(`bargein_calls_${concurrent}_max_ms`),
    calls_per_core: silero.callsPerCore === null ? null : Math.floor(silero.callsPerCore),
    rtp_send_jitter_p99_ms: silero.jitter,
    resampler_roundtrip_snr_db: get('resampler_roundtrip_snr_db'),
    resampler_alias_rejection_db: get('resampler_alias_rejection_db'),
    rest_get_ai_rps: get('rest_get_ai_rps'),
    rest_get_ai_p99_ms: get('rest_get_ai_p99_ms'),
    caller_first_audio_p50_ms: get('caller_first_audio_p50_ms'),
  };
  const derived: Figures = {
    caller_first_audio_p95_ms: get('caller_first_audio_p95_ms'),
    caller_pipeline_share_p50_ms: get('caller_pipeline_share_p50_ms'),
    caller_pipeline_share_p95_ms: get('caller_pipeline_share_p95_ms'),
    caller_asterisk_first_audio_p50_ms: get('caller_asterisk_first_audio_p50_ms'),
    caller_asterisk_first_audio_p95_ms: get('caller_asterisk_first_audio_p95_ms'),
    caller_asterisk_pipeline_share_p50_ms: get('caller_asterisk_pipeline_share_p50_ms'),
    caller_asterisk_pipeline_share_p95_ms: get('caller_asterisk_pipeline_share_p95_ms'),
    calls_per_core_calls_tested: silero.calls,
    calls_per_core_cpu_pct: silero.cpuPct,
    calls_per_core_webrtc: webrtc.callsPerCore === null ? null : Math.floor(webrtc.callsPerCore),
    // Issue 15: CPU time per call-frame of the full media path (Silero, 200 calls) and the calls one core's CPU carries at 100 %.
    media_cpu_us_per_call_frame: get('media_silero_calls_200_cpu_us_per_call_frame'),
    calls_per_core_cpu: get('media_silero_calls_200_calls_per_core_cpu'),
    // Receiver-side jitter p99 at 200 calls over a bare 20 ms timer's p99 in the same step (1 = the machine's noise floor).
    jitter_p99_ratio_to_timer_200_calls: ratio(get('media_silero_calls_200_rx_jitter_p99_ms'), get('media_silero_calls_200_bare_timer_p99_ms')),
    rtp_send_jitter_p99_ms_webrtc: webrtc.jitter,
    pipeline_overhead_1call_p50_ms: get('overhead_calls_1_p50_ms'),
    pipeline_overhead_1call_p95_ms: get('overhead_calls_1_p95_ms'),
    machine_cpus: cpus().length,
    machine_load_avg_1m_start: Math.round(loadBefore[0]! * 100) / 100,
    machine_load_avg_1m_end: Math.round(loadAfter[0]! * 100) / 100,
    run_quick: quick ? 1 : 0,
    run_seconds: Math.round(totalSeconds),
    run_benchmarks_failed: outcomes.filter((outcome) => outcome.status === 'failed').length,
  };
  // Issue 15's keys are always in report.json: null when their benchmark did not run or failed.
  for (const key of issue15Keys) if (!(key in derived)) derived[key] = get(key);
  const reportJson: Figures = { ...required, ...derived, ...all };
  for (const [key, value] of Object.entries(reportJson)) if (typeof value === 'number') reportJson[key] = Math.round(value * 1000) / 1000;
  return { required, derived, json: reportJson, silero, webrtc, concurrent };
}
