/**
 * The benchmarks `bench/run-all.ts` runs, in order, and the shapes it shares with the report
 * writer (bench/lib/report.ts).
 */

export type Figures = Record<string, number | null>;

export interface Benchmark {
  id: string;
  title: string;
  /** Script path from the repository root. */
  script: string;
  args: string[];
  quickArgs: string[];
  env?: Record<string, string>;
  quickEnv?: Record<string, string>;
  /** Prefix for this benchmark's keys in report.json (when its own keys are not unique). */
  prefix?: string;
  /** Not run with --quick. */
  fullOnly?: boolean;
  about: string;
}

/** One benchmark's run (or that it was not run). */
export interface Outcome {
  bench: Benchmark;
  status: 'ok' | 'failed' | 'not run';
  exitCode?: number | null;
  signal?: string | null;
  error?: string;
  seconds: number;
  stdout: string;
  stderr: string;
  figures: Figures;
  commandLine: string;
}

/** A benchmark: `args` of the full run and of --quick, `about` for the report, the rest optional. */
function benchmark(
  id: string,
  title: string,
  script: string,
  [args, quickArgs]: [full: string[], quick: string[]],
  about: string,
  more: Pick<Benchmark, 'env' | 'quickEnv' | 'prefix' | 'fullOnly'> = {},
): Benchmark {
  return { id, title, script, args, quickArgs, ...more, about };
}

/** bench/media/concurrent-calls.ts with one VAD engine; its keys are prefixed `media_<vad>_`. */
function concurrentCalls(vad: 'silero' | 'webrtc', title: string, quickArgs: string[], about: string, fullOnly?: true): Benchmark {
  return benchmark(`calls-${vad}`, `media: concurrent calls per core, ${title}`, 'bench/media/concurrent-calls.ts', [[vad, '50,100,200,300,400', '6'], quickArgs], about, {
    prefix: `media_${vad}_`,
    ...(fullOnly ? { fullOnly } : {}),
  });
}

export const benchmarks: Benchmark[] = [
  benchmark(
    'rest',
    'ai-manager: REST throughput',
    'bench/ai-manager/ais.ts',
    [[], []],
    'GET /v1.0/ais/{id} and POST /v1.0/ais against ai-manager on PostgreSQL (its own database, in-process bus, rate limit off), ' +
      'closed loop with 16 keep-alive connections from a separate process; GET with autocannon, alternating with a bare Fastify route doing one ' +
      'PostgreSQL lookup of the same row (rest_get_ai_ratio_to_fastify_pg = ai-manager / bare). Needs the PostgreSQL of DATABASE_URL_ADMIN.',
    { env: { BENCH_SECONDS: '10', BENCH_CONNECTIONS: '16' }, quickEnv: { BENCH_SECONDS: '3', BENCH_CONNECTIONS: '16' } },
  ),
  benchmark(
    'resampler',
    'media: resampler quality',
    'bench/media/resampler-quality.ts',
    [[], []],
    '8 -> 16 -> 8 kHz round trip on the speech fixture (SNR at the best alignment), alias rejection of 16 -> 8 kHz on a 4.2-7.8 kHz sweep, ' +
      'image rejection of 8 -> 16 kHz, passband level, per speex quality (the engine uses quality 6). The full-band SNR mostly counts the fixture\'s ' +
      'energy above 3.76 kHz; in-band: the round trip\'s SNR in 0-3.4 kHz and the alias rejection of a 4.0-7.8 kHz sweep, beside sox `rate -v` in the same run.',
  ),
  benchmark(
    'frame-cost',
    'media: CPU per 20 ms frame',
    'bench/media/frame-cost.ts',
    [['5000'], ['2000']],
    'CPU microseconds per 20 ms frame of each stage and of the whole per-call media path (decode, resample, VAD, resample, encode), per VAD engine.',
  ),
  concurrentCalls(
    'silero',
    'Silero VAD (the default)',
    ['silero', '100,200', '3'],
    'N real RTP transports in one process, each receiving 50 packets/s of u-law speech from a peer process, running the VAD and echoing every frame back ' +
      '(decode, resample, VAD, resample, encode, paced send). Send jitter = |interval between a call\'s consecutive packets - 20 ms|. ' +
      'Silero runs batched in its worker thread, so "cpu %" counts both threads. "cpu us per call-frame" = CPU time per call per 20 ms frame of ' +
      'this path, "calls/core (cpu)" = 20 000 us / that; "rx jitter p99" is measured at the peer, beside a bare 20 ms timer\'s p99 in the same step.',
  ),
  concurrentCalls('webrtc', 'WebRTC VAD', [], 'The same with the WebRTC VAD (libfvad, WASM, on the event loop).', true),
  benchmark(
    'pacing',
    'media: pacing drift',
    'bench/media/pacing-drift.ts',
    [['30'], ['5']],
    '10 simulated minutes of the RTP output clock (timers 0-4 ms late, a 150 ms stall every 30 s), then a real-time run of one RTP transport.',
  ),
  benchmark(
    'overhead',
    'pipeline: overhead and barge-in reaction',
    'bench/pipeline/overhead.ts',
    [['20', '100'], ['10', '100']],
    'The conversation engine alone with zero-latency provider fakes and an in-memory transport: STT final -> first audio frame handed to the transport, ' +
      'at 1 and at 100 concurrent calls; barge-in reaction = VAD decision -> output queue flushed.',
  ),
  benchmark(
    'overhead-wire',
    'pipeline: overhead to the wire at 100 calls carrying media',
    'bench/pipeline/overhead-wire.ts',
    [['10', '100'], ['4', '100']],
    'The conversation engine with zero-latency provider fakes on real RTP transports, each fed 50 packets/s of speech by a peer process and sending ' +
      'its continuous 50 packets/s stream: STT final -> first answer packet handed to the socket, with the first frame of a talkspurt sent at once ' +
      '(the default) and, in a second round, waiting for the call\'s next 20 ms slot (the previous behaviour).',
  ),
  benchmark(
    'bargein-heard',
    'pipeline: barge-in as the caller hears it',
    'bench/pipeline/bargein-heard.ts',
    [['10'], ['4']],
    'One call at a time on a real RTP transport with the default VAD (Silero, default vad_config) and the default turn_config; the caller, a UDP ' +
      'socket sending 50 packets/s, starts speaking (the speech fixture) while the bot greets: from the first packet of its speech to the end of the ' +
      'last bot packet it receives (arrival + 20 ms). STT double: an interim transcript 300 ms after the onset.',
  ),
  benchmark(
    'simulator',
    'Asterisk simulator: its own share',
    'packages/asterisk-simulator/src/bench/simulator-bench.ts',
    [['20', '5'], ['10', '2']],
    'The simulator with an ideal RTP app (replies after one quiet frame = 20 ms; stops at the first loud packet): the simulator\'s own share of the ' +
      'response and barge-in paths, and its CPU for N bridged calls.',
  ),
  benchmark(
    'caller',
    'end to end: the scripted caller through the simulator and the real pipeline',
    'bench/pipeline/caller-first-audio.ts',
    [['4', '10'], ['2', '5']],
    'flow-manager answers a simulated call and runs ai_talk; pipeline-manager takes the call audio over RTP external media; the default vad_config ' +
      '(real Silero) and turn_config; the caller speaks espeak-ng questions; provider doubles at typical latencies (STT final 150 ms after the end of ' +
      'speech, LLM first token 350 ms, TTS first byte 150 ms). End of the caller\'s utterance -> first audio the caller hears; provider latency ' +
      'measured per stage in each turn; the pipeline\'s share = that - provider latency; endpointing wait = end of speech -> end of turn decided.',
  ),
  benchmark(
    'false-end-of-turn',
    'end to end: callers who pause mid-sentence',
    'bench/pipeline/false-end-of-turn.ts',
    [['2'], ['2', '16']],
    'The same platform and doubles as `caller`, default settings: 32 espeak-ng utterances each said in two pieces with a 300-700 ms pause between ' +
      'them (an honest mix of first pieces that read finished and unfinished); counts the utterances during which the caller heard the AI.',
  ),
  benchmark(
    'caller-asterisk',
    'end to end: a phone on a real Asterisk 23 and the real pipeline',
    'bench/pipeline/caller-first-audio.ts',
    [['4', '10'], ['2', '5']],
    'The same calls, doubles and measure as `caller`, on a real Asterisk 23.4.1 (scripts/asterisk/build.sh): the phone is a Local channel into the ' +
      'inbound context whose other half is bridged with an RTP leg to the benchmark process, where the same scripted caller speaks and listens; ' +
      'its audio crosses Asterisk twice (the phone\'s leg and the platform\'s), as a real phone\'s crosses a SIP leg and the platform\'s.',
    { env: { BENCH_TELEPHONY: 'asterisk' }, quickEnv: { BENCH_TELEPHONY: 'asterisk' } },
  ),
];
