/**
 * Writes the report of a `pnpm bench` run (bench/run-all.ts): `REPORT.md` (summary table with
 * the targets, machine, definitions, each benchmark's command and printed output) and
 * `report.json` (bench/lib/report-figures.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { benchmarks, type Figures } from './benchmarks.ts';
import { reportFigures, type BenchRun, type ReportFigures } from './report-figures.ts';

/** Writes REPORT.md and report.json into `outDir`; returns the summary's figures. */
export function writeReport(run: BenchRun, outDir: string): Figures {
  const figures = reportFigures(run);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'REPORT.md'), reportMarkdown(run, figures).join('\n'));
  writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(figures.json, null, 2)}\n`);
  return figures.required;
}

/** REPORT.md, line by line. */
function reportMarkdown(
  { command, quick, startedAt, totalSeconds, loadBefore, loadAfter, outcomes }: BenchRun,
  { required, derived, json, silero, webrtc, concurrent }: ReportFigures,
): string[] {
  const fmt = (value: number | null | undefined, digits = 1, unit = '') => (value === null || value === undefined ? 'n/a' : `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`);
  const verdict = (value: number | null | undefined, ok: (value: number) => boolean) => (value === null || value === undefined ? 'not measured' : ok(value) ? 'met' : 'NOT met');
  const outcomeOf = (id: string) => outcomes.find((outcome) => outcome.bench.id === id)!;
  const sourceNote = (id: string) => {
    const outcome = outcomeOf(id);
    return outcome.status === 'ok' ? `[${id}](#${id})` : `[${id}](#${id}) (${outcome.status === 'failed' ? 'FAILED' : 'not run'})`;
  };
  const cpuModel = cpus()[0]?.model?.trim() ?? 'unknown';
  const callerOverProviders =
    typeof json.caller_first_audio_p50_ms === 'number' && typeof json.provider_latency_sum_ms === 'number' ? json.caller_first_audio_p50_ms - json.provider_latency_sum_ms : null;
  const summaryRows: [string, string, string, string, string][] = [
    [
      `Pipeline overhead p50 (STT final -> first audio frame out, ${concurrent} concurrent calls, zero-latency fakes)`,
      fmt(required.pipeline_overhead_p50_ms, 2, 'ms'),
      '< 5 ms',
      verdict(required.pipeline_overhead_p50_ms, (value) => value < 5),
      sourceNote('overhead'),
    ],
    [
      `Pipeline overhead p95 (same, ${concurrent} concurrent calls)`,
      fmt(required.pipeline_overhead_p95_ms, 2, 'ms'),
      '< 15 ms',
      verdict(required.pipeline_overhead_p95_ms, (value) => value < 15),
      sourceNote('overhead'),
    ],
    [
      `Barge-in reaction, worst of ${concurrent} concurrent calls (VAD decision -> output flushed)`,
      fmt(required.bargein_reaction_ms, 3, 'ms'),
      '<= 20 ms',
      verdict(required.bargein_reaction_ms, (value) => value <= 20),
      sourceNote('overhead'),
    ],
    [
      `Calls per core (Silero VAD; definition below)${silero.calls !== null && silero.calls === silero.steps.at(-1) ? ' (the largest count tested: a lower bound)' : ''}`,
      required.calls_per_core === null || required.calls_per_core === undefined ? 'n/a' : String(required.calls_per_core),
      '>= 200',
      verdict(required.calls_per_core, (value) => value >= 200),
      sourceNote('calls-silero'),
    ],
    [
      `RTP send jitter p99 at that call count${silero.calls !== null ? ` (${silero.calls} calls)` : ''}`,
      fmt(required.rtp_send_jitter_p99_ms, 3, 'ms'),
      '< 2 ms',
      verdict(required.rtp_send_jitter_p99_ms, (value) => value < 2),
      sourceNote('calls-silero'),
    ],
    [
      `Calls per core with the WebRTC VAD instead${webrtc.calls !== null ? ` (${webrtc.calls} calls, jitter p99 ${fmt(webrtc.jitter, 3, 'ms')})` : ''}`,
      derived.calls_per_core_webrtc === null || derived.calls_per_core_webrtc === undefined ? 'n/a' : String(derived.calls_per_core_webrtc),
      '>= 200',
      verdict(derived.calls_per_core_webrtc, (value) => value >= 200),
      sourceNote('calls-webrtc'),
    ],
    ['Resampler 8 -> 16 -> 8 kHz round-trip SNR on speech (quality 6)', fmt(required.resampler_roundtrip_snr_db, 1, 'dB'), '-', '-', sourceNote('resampler')],
    ['Resampler alias rejection, 16 -> 8 kHz, 4.2-7.8 kHz sweep (quality 6)', fmt(required.resampler_alias_rejection_db, 1, 'dB'), '-', '-', sourceNote('resampler')],
    ['REST GET /v1.0/ais/{id} throughput (16 connections)', fmt(required.rest_get_ai_rps, 0, 'req/s'), '-', '-', sourceNote('rest')],
    ['REST GET /v1.0/ais/{id} p99 latency', fmt(required.rest_get_ai_p99_ms, 2, 'ms'), '-', '-', sourceNote('rest')],
    ...honestRows(json, fmt, verdict, sourceNote),
    ['Caller: end of utterance -> first audio heard, p50 (default VAD and turn_config; provider doubles included)', fmt(required.caller_first_audio_p50_ms, 1, 'ms'), '-', '-', sourceNote('caller')],
    ['Caller: end of utterance -> first audio heard, p95', fmt(derived.caller_first_audio_p95_ms, 1, 'ms'), '-', '-', sourceNote('caller')],
    ["Caller: the pipeline's share, p50 / p95 (latency - provider latency measured per turn)", `${fmt(derived.caller_pipeline_share_p50_ms, 1)} / ${fmt(derived.caller_pipeline_share_p95_ms, 1, 'ms')}`, '-', '-', sourceNote('caller')],
    [
      'Caller: provider latency sum per turn, p50 (STT + LLM + TTS doubles, measured in each turn)',
      fmt(json.provider_latency_sum_ms, 1, 'ms'),
      '-',
      '-',
      sourceNote('caller'),
    ],
    [
      'Caller: first audio p50 - provider latency sum (the pipeline\'s addition, p50s)',
      fmt(callerOverProviders, 1, 'ms'),
      '<= 250 ms',
      verdict(callerOverProviders, (value) => value <= 250),
      sourceNote('caller'),
    ],
    ['Caller: endpointing wait, end of speech -> end of turn decided, p50 (default turn_config)', fmt(json.endpointing_wait_p50_ms, 1, 'ms'), '-', '-', sourceNote('caller')],
    [
      'False ends of turn: utterances with a 300-700 ms mid-sentence pause during which the caller heard the AI (count / utterances run)',
      json.false_end_of_turn_count === null || json.false_end_of_turn_count === undefined ? 'n/a' : `${json.false_end_of_turn_count} / ${fmt(json.false_end_of_turn_corpus_size, 0)}`,
      '<= 1',
      verdict(json.false_end_of_turn_count, (value) => value <= 1),
      sourceNote('false-end-of-turn'),
    ],
    [
      'Caller on a real Asterisk 23: end of utterance -> first audio heard, p50 / p95',
      `${fmt(derived.caller_asterisk_first_audio_p50_ms, 1)} / ${fmt(derived.caller_asterisk_first_audio_p95_ms, 1, 'ms')}`,
      '-',
      '-',
      sourceNote('caller-asterisk'),
    ],
    [
      "Caller on a real Asterisk 23: the pipeline's share, p50 / p95",
      `${fmt(derived.caller_asterisk_pipeline_share_p50_ms, 1)} / ${fmt(derived.caller_asterisk_pipeline_share_p95_ms, 1, 'ms')}`,
      '-',
      '-',
      sourceNote('caller-asterisk'),
    ],
  ];

  const lines: string[] = [];
  lines.push('# Benchmark report', '');
  lines.push(`Generated by \`${command}\` on ${startedAt.toISOString()} in ${Math.round(totalSeconds)} s${quick ? ' (--quick: shorter runs, fewer samples)' : ''}.`);
  lines.push('Every benchmark ran in its own process, one after the other. `bench/report.json` holds the same figures as numbers.', '');
  lines.push('## Machine', '');
  lines.push(`- CPU: ${cpuModel}, ${cpus().length} logical cores (available parallelism ${availableParallelism()})`);
  lines.push(`- Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; OS: ${osType()} ${release()}`);
  lines.push(`- Node ${process.version}`);
  lines.push(`- Load average (1 min) at start ${loadBefore[0]!.toFixed(2)}, at end ${loadAfter[0]!.toFixed(2)}: other work on a shared machine shows up in the jitter and latency figures.`, '');
  lines.push('## Summary', '');
  lines.push('| Figure | Value | Target | Target met | Source |', '|---|---|---|---|---|');
  for (const row of summaryRows) lines.push(`| ${row.join(' | ')} |`);
  lines.push(
    '',
    'Targets are those of issue 5 (calls per core, jitter), issue 7 (pipeline overhead, barge-in), the REST ratio (>= 0.8 of the bare route), and the caller and false-end-of-turn targets ' +
      'the benchmarks themselves print (first audio p50 <= provider latency sum + 250 ms; at most 1 false end of turn); the other figures have none.',
    '',
  );
  lines.push('### Definitions', '');
  lines.push(
    `- **pipeline_overhead_p50_ms / _p95_ms**: from bench/pipeline/overhead.ts at ${concurrent} concurrent calls (the same at 1 call is \`pipeline_overhead_1call_*\`): ` +
      'the conversation engine with provider fakes that answer at once, from the STT final transcript to the first audio frame handed to the transport.',
    `- **bargein_reaction_ms**: the largest barge-in reaction over all turns at ${concurrent} concurrent calls: from the VAD's "caller started speaking" decision to the moment the transport's output queue is flushed (no bot frame leaves after it).`,
    '- **calls_per_core**: from bench/media/concurrent-calls.ts with the Silero VAD (the pipeline\'s default, batched in a worker thread). Take the largest tested call count N whose RTP send jitter p99 was below 2 ms (a smaller count may miss it on a busy machine: see its "bare timer p99", the noise floor measured alongside); ' +
      'divide it by the CPU cores the benchmark process used at N (`cpu %` / 100, both threads) when that is more than one core. It is never scaled up when less than one core was used: a count that was not tested is not claimed. ' +
      'When no count met the jitter bound, the figure is null. `calls_per_core_webrtc` is the same with the WebRTC VAD (full run only).',
    '- **rtp_send_jitter_p99_ms**: the p99 of |interval between a call\'s consecutive RTP packets - 20 ms| over all calls, at that call count N.',
    '- **resampler_roundtrip_snr_db**, **resampler_alias_rejection_db**: at the engine\'s resampler quality (6); the other qualities are `resampler_q<N>_*`.',
    '- **rest_get_ai_rps**, **rest_get_ai_p99_ms**: GET /v1.0/ais/{id}, 16 keep-alive connections in closed loop (autocannon), ai-manager on PostgreSQL in its own process. ' +
      '**rest_get_ai_ratio_to_fastify_pg**: those requests/s over a bare Fastify route doing one PostgreSQL lookup of the same row (`rest_fastify_pg_rps`), measured alternately in the same run. ' +
      '**rest_get_ai_cpu_ratio_to_fastify_pg**: the same comparison by each server process\'s own CPU time per request over those runs (`rest_fastify_pg_cpu_us_per_request` / `rest_get_ai_cpu_us_per_request`), which other load on the machine moves much less than requests/s. ' +
      'ai-manager reads the row as a named prepared statement described once per connection (`describedQuery` in packages/shared), which costs less than pg\'s own query, so it can beat the stock bare route; ' +
      '**rest_get_ai_ratio_to_fastify_pg_described** and **rest_get_ai_cpu_ratio_to_fastify_pg_described** compare it with a third server, the bare route reading the same way (`rest_fastify_pg_described_*`): what the platform\'s request handling (authentication, tenancy, validation, schema-written responses, hooks, metrics) costs on its own.',
    '- **pipeline_overhead_wire_p50_ms / _p95_ms** (bench/pipeline/overhead-wire.ts): at 100 calls that each receive and send 50 RTP packets/s, from the STT final to the first answer packet handed to the socket; ' +
      'the first frame of a talkspurt goes out at once. `pipeline_overhead_wire_next_slot_*` is the same waiting for the call\'s next 20 ms slot (the behaviour before issue 15), `pipeline_overhead_wire_queue_*` the in-memory figure of the same turns.',
    '- **bargein_heard_p50_ms** (bench/pipeline/bargein-heard.ts): from the first packet of the caller\'s speech to the end of the last bot packet it receives, default VAD and turn_config (an interruption needs 0.5 s of speech); `bargein_decided_p50_ms` is the onset -> decision part.',
    '- **media_cpu_us_per_call_frame**, **calls_per_core_cpu**: CPU time (both threads) per call per 20 ms frame of the full media path with Silero batched, at 200 calls, and 20 000 us / that. ' +
      '**jitter_p99_ratio_to_timer_200_calls**: the p99 of |interval between a call\'s packets as they arrive at the peer - 20 ms| at 200 calls over a bare 20 ms timer\'s p99 in its own process during the same step (1 = no worse than the machine itself).',
    '- **resampler_inband_snr_db**, **sox_inband_snr_db**: the 8 -> 16 -> 8 kHz round trip\'s SNR counted in 0-3.4 kHz only (speex at quality 6, and sox `rate -v` on the same signal); ' +
      '**resampler_alias_rejection_transition_db**: rejection of a 4.0-7.8 kHz sweep going 16 -> 8 kHz. The full-band `resampler_roundtrip_snr_db` mostly measures the fixture\'s energy above 3.76 kHz.',
    '- **caller_first_audio_p50_ms / _p95_ms**: the scripted caller of the Asterisk simulator, calling into flow-manager and the real pipeline-manager over RTP external media; from the last loud frame the caller sends to the first loud frame it hears. ' +
      'The provider doubles add 650 ms by construction (STT final 150 ms after the last speech frame reached it, LLM first token 350 ms, TTS first byte 150 ms). ' +
      '**caller_pipeline_share_*** = the caller\'s latency - the provider latency measured per stage in the same turn (`provider_latency_sum_ms` is its p50); it includes the endpointing wait left after the answer prepared during it (`endpointing_wait_p50_ms`: end of speech -> end of turn decided). ' +
      'The share holds the RTP uplink through the simulator and the jitter buffer, the turn start, sentence splitting, framing, the output queue and 20 ms pacing, the RTP downlink, the simulator\'s bridge and the caller noticing the first loud frame ' +
      '(the simulator benchmark gives the simulator\'s own part of a round trip). With the default Silero settings (stop_secs 0.8 s) a real call also waits for 0.8 s of silence, since the turn ends on the VAD when the STT endpoint comes while the VAD still hears speech: about 650 ms more than here.',
    '- **provider_latency_sum_ms** (bench/pipeline/caller-first-audio.ts, the `caller` run): the p50 over turns of STT (last loud frame into the STT double -> its final) + LLM (request -> first token) + TTS (first token -> first byte), ' +
      'each measured in that turn on the pipeline\'s clock; the doubles are set to 150 + 350 + 150 ms, default vad_config and turn_config. ' +
      '**endpointing_wait_p50_ms**: the p50 over the same turns of the caller\'s last loud frame -> the end of turn decided by the pipeline (turnEndAt); with preemptive answers (from 0.2 s of silence) the providers work during this wait.',
    `- **false_end_of_turn_count** / **false_end_of_turn_corpus_size** (bench/pipeline/false-end-of-turn.ts): the turn corpus (32 utterances; the first 16 with --quick) said by the simulator's scripted caller, each in two espeak-ng pieces ` +
      'with a 300-700 ms pause between them, over 2 concurrent calls, same platform and provider doubles as `caller`, default vad_config (Silero) and turn_config; ' +
      'the count is the utterances during which the caller heard a loud frame of the AI before it had sent its last piece, the corpus size the utterances actually run. ' +
      'Answers prepared ahead and dropped silently are never heard and not counted (`false_end_of_turn_dropped_answers`).',
    '',
  );
  lines.push('## Benchmarks', '');
  for (const outcome of outcomes) {
    const { bench } = outcome;
    lines.push(`### ${bench.title} <a id="${bench.id}"></a>`, '');
    lines.push(bench.about, '');
    if (outcome.status === 'not run') {
      lines.push(`Not run in this report (\`--only\` / \`--skip\`${bench.fullOnly ? ', or not part of --quick' : ''}). Run alone: \`pnpm bench --only=${bench.id}\`.`, '');
      continue;
    }
    lines.push(`- Command: \`${outcome.commandLine}\``);
    lines.push(`- Status: ${outcome.status === 'ok' ? 'ok' : `**FAILED** (${outcome.error}); its figures are left out of report.json`}; ${outcome.seconds.toFixed(1)} s`, '');
    lines.push('```', outcome.stdout.trimEnd() || '(no output)', '```', '');
    if (outcome.status === 'failed' && outcome.stderr.trim() !== '') {
      lines.push('Error output (last 40 lines):', '', '```', outcome.stderr.trimEnd().split('\n').slice(-40).join('\n'), '```', '');
    }
  }
  lines.push('## How to run', '');
  lines.push(
    '`pnpm bench` runs everything (about 4 minutes on this machine) and writes this file and `bench/report.json`; `pnpm bench --quick` makes each run shorter (about 2 minutes, fewer samples, no WebRTC calls-per-core run); ' +
      '`--only=<ids>` / `--skip=<ids>` pick benchmarks (ids: ' +
      benchmarks.map((bench) => `\`${bench.id}\``).join(', ') +
      '); `--out=<dir>` writes the report elsewhere. Each benchmark also runs on its own with the command shown in its section; with `BENCH_JSON=<file>` it writes its figures there as JSON. ' +
      'The REST benchmark needs PostgreSQL (`DATABASE_URL_ADMIN`, default postgres://postgres@127.0.0.1:5432/postgres).',
    '',
  );
  return lines;
}

/**
 * The summary rows of issue 15's honest benchmarks: overhead up to the wire, barge-in as the
 * caller hears it, CPU per call-frame, jitter against the machine's own timer, REST against a
 * bare Fastify route, the resampler in band beside sox.
 */
function honestRows(
  json: Figures,
  fmt: (value: number | null | undefined, digits?: number, unit?: string) => string,
  verdict: (value: number | null | undefined, ok: (value: number) => boolean) => string,
  sourceNote: (id: string) => string,
): [string, string, string, string, string][] {
  return [
    [
      'Pipeline overhead to the wire at 100 calls carrying media (STT final -> first answer packet sent), p50 / p95',
      `${fmt(json.pipeline_overhead_wire_p50_ms, 2)} / ${fmt(json.pipeline_overhead_wire_p95_ms, 2, 'ms')}`,
      '-',
      '-',
      sourceNote('overhead-wire'),
    ],
    ["Barge-in as heard: caller's speech onset -> end of the last bot audio it hears, p50 (default VAD and turn_config)", fmt(json.bargein_heard_p50_ms, 1, 'ms'), '-', '-', sourceNote('bargein-heard')],
    [
      'Media CPU per call-frame (Silero batched, 200 calls) and the calls one core carries by CPU time',
      `${fmt(json.media_cpu_us_per_call_frame, 1, 'us')}, ${fmt(json.calls_per_core_cpu, 0)} calls`,
      '-',
      '-',
      sourceNote('calls-silero'),
    ],
    ['Receiver-side jitter p99 / bare 20 ms timer p99, same step, 200 calls', fmt(json.jitter_p99_ratio_to_timer_200_calls, 2), '-', '-', sourceNote('calls-silero')],
    [
      'REST GET /v1.0/ais/{id} / bare Fastify route with one PostgreSQL lookup (autocannon, same run)',
      fmt(json.rest_get_ai_ratio_to_fastify_pg, 2),
      '>= 0.8',
      verdict(json.rest_get_ai_ratio_to_fastify_pg, (value) => value >= 0.8),
      sourceNote('rest'),
    ],
    [
      'REST GET /v1.0/ais/{id} / the bare route reading the row as ai-manager does (described statement; requests/s, and CPU per request)',
      `${fmt(json.rest_get_ai_ratio_to_fastify_pg_described, 2)}, CPU ${fmt(json.rest_get_ai_cpu_ratio_to_fastify_pg_described, 2)} (bare ${fmt(json.rest_fastify_pg_described_cpu_us_per_request, 1, 'us')})`,
      '-',
      '-',
      sourceNote('rest'),
    ],
    [
      'REST GET /v1.0/ais/{id}: the bare route\'s server CPU per request / ai-manager\'s (same runs)',
      `${fmt(json.rest_get_ai_cpu_ratio_to_fastify_pg, 2)} (ai-manager ${fmt(json.rest_get_ai_cpu_us_per_request, 1, 'us')}, bare ${fmt(json.rest_fastify_pg_cpu_us_per_request, 1, 'us')})`,
      '-',
      '-',
      sourceNote('rest'),
    ],
    ['Resampler 8 -> 16 -> 8 kHz SNR in 0-3.4 kHz: speex q6 / sox -v', `${fmt(json.resampler_inband_snr_db, 1)} / ${fmt(json.sox_inband_snr_db, 1, 'dB')}`, '-', '-', sourceNote('resampler')],
    [
      'Resampler alias rejection 16 -> 8 kHz from 4.0 kHz up: speex q6 / sox -v',
      `${fmt(json.resampler_alias_rejection_transition_db, 1)} / ${fmt(json.sox_alias_rejection_transition_db, 1, 'dB')}`,
      '-',
      '-',
      sourceNote('resampler'),
    ],
  ];
}
