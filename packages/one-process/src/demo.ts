import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Caller } from '@avp/asterisk-simulator';
import type { PipelineManagerOptions } from '@avp/pipeline-manager';
import { createLogger, defaultVadConfig, resampleClip, synthesizeWithEspeak, type EventEnvelope, type Logger, type Subscription } from '@avp/shared';
import { oneProcessEnvironmentSchema, type OneProcessEnvironment } from './config.ts';
import { startOneProcess, type OneProcessPlatform } from './start-one-process.ts';

/**
 * `pnpm demo`: the platform in one process (PGlite, in-process bus, the built-in Asterisk
 * simulator), an AI and a flow created through the public API, and one simulated phone call
 * whose caller speaks with synthesised speech. The conversation is printed as it happens,
 * the call's audio (both directions) is written to a WAV file, and the API keeps running.
 */

/** Environment variables, as in process.env. */
export type DemoEnvironment = Readonly<Record<string, string | undefined>>;

export interface DemoOptions {
  /** Settings (default process.env); the platform's own variables apply (PORT, DATA_DIR, ...). */
  environment?: DemoEnvironment;
  /** Keep the API running after the call until SIGINT/SIGTERM (default true). */
  keepRunning?: boolean;
  /** Where the call's WAV goes (default DEMO_WAV, else ./demo-call.wav). */
  wavPath?: string;
  /** `local` ignores provider keys; `auto` (default) uses a real provider for each key found. */
  engines?: 'auto' | 'local';
  /** Where the demo's lines go (default stdout). */
  print?: (line: string) => void;
  /** Logger of the platform (default: warnings and errors only, unless LOG_LEVEL says otherwise). */
  logger?: Logger;
  /** Longest the whole call may take (default 120 s). */
  callTimeoutMs?: number;
  /** pipeline-manager's options (tests: provider doubles). */
  pipelineManager?: PipelineManagerOptions;
}

/** The engines the demo's AI uses. */
export interface DemoEngines {
  engine_model: string;
  stt_type: string;
  tts_type: string;
  /** Human-readable description, for example "LLM local.scripted (offline)". */
  description: string[];
}

/** One pipeline turn's latency, as published in `pipeline_turn_latency`. */
export interface DemoTurnLatency {
  turn: number;
  /** End of the caller's speech (or the start of the call) -> first audio sent. */
  totalMs: number | undefined;
  sttMs: number | undefined;
  llmFirstTokenMs: number | undefined;
  ttsFirstByteMs: number | undefined;
}

export interface DemoResult {
  url: string;
  accessKey: string;
  aiId: string;
  flowId: string;
  activeflowId: string;
  aicallId: string;
  activeflow: Record<string, unknown>;
  aicall: Record<string, unknown>;
  /** The AIcall's stored messages, oldest first. */
  messages: { role: string; content: string; tool_calls?: { function: { name: string; arguments: string } }[] }[];
  /** What the caller said, in order. */
  callerLines: string[];
  /** The caller's view: end of its utterance -> first audio heard back, per answered utterance. */
  responseLatenciesMs: number[];
  /** The pipeline's view, per bot turn. */
  turnLatencies: DemoTurnLatency[];
  /** When (ms of call time) the flow's `talk` after `ai_talk` started, and whether the caller heard audio from then on. */
  flowTalkStartedAtMs: number | undefined;
  flowTalkHeard: boolean;
  wavPath: string;
  wavSeconds: number;
  engines: DemoEngines;
  /** Every line printed. */
  lines: string[];
  /** The running platform when `keepRunning` is true (whoever called runDemo stops it); undefined otherwise. */
  platform: OneProcessPlatform | undefined;
}

/** What the caller says, answer by answer. Every line is one of `sttPhrases`. */
export const demoCallerLines = ['Alice', 'Tuesday morning'];

/** Phrases the offline recogniser listens for (it is reliable only for declared phrases). */
export const demoSttPhrases = ['Alice', 'Bob', 'Carol', 'Monday', 'Tuesday', 'Tuesday morning', 'Wednesday afternoon', 'Friday', 'yes', 'no'];

/** The offline engine's script: an appointment request in two questions, stored with set_variables. */
export const demoScript = {
  script: [
    { say: 'Hello, this is the Riverside dental clinic. May I have your name, please?' },
    { wait: 'answer', into: 'name' },
    { say: 'Thank you, ${name}. Which day would you like to come in?' },
    { wait: 'answer', into: 'day' },
    { tool: 'set_variables', arguments: { variables: { caller_name: '${name}', appointment_day: '${day}' } } },
    { say: 'Great, ${name}. I have noted ${day} for you.' },
    { end: true },
  ],
};

/** The same conversation for a real language model. */
export const demoPrompt = [
  'You are the phone receptionist of the Riverside dental clinic. Keep every answer to one or two short sentences.',
  'First greet the caller and ask for their name. Then ask which day they would like to come in.',
  'When you know both, call the set_variables tool with {"variables": {"caller_name": <name>, "appointment_day": <day>}},',
  'then say one short sentence confirming the day, then call the stop_service tool to hand the call back.',
].join(' ');

/** The flow: answer, the AI, then the flow goes on with the variables the AI set. */
export function demoFlowActions(aiId: string): Record<string, unknown>[] {
  return [
    { type: 'answer' },
    { type: 'ai_talk', option: { ai_id: aiId } },
    { type: 'talk', option: { text: 'Thanks ${caller_name}, your appointment request for ${appointment_day} is saved. Goodbye.' } },
    { type: 'hangup' },
  ];
}

/**
 * The engines for the environment: a real provider for each kind whose key is set (unless
 * `engines` is `local`), else the offline ones. DEMO_ENGINE_MODEL, DEMO_STT_TYPE and
 * DEMO_TTS_TYPE override the choice.
 */
export function chooseDemoEngines(environment: DemoEnvironment, engines: 'auto' | 'local' = 'auto'): DemoEngines {
  const has = (...names: string[]) => engines === 'auto' && names.some((name) => (environment[name] ?? '') !== '');
  const llm =
    (engines === 'auto' && environment.DEMO_ENGINE_MODEL) ||
    (has('OPENAI_API_KEY')
      ? 'openai.gpt-4o-mini'
      : has('ANTHROPIC_API_KEY')
        ? 'anthropic.claude-3-5-haiku-latest'
        : has('GEMINI_API_KEY', 'GOOGLE_API_KEY')
          ? 'gemini.gemini-2.0-flash'
          : 'local.scripted');
  const stt =
    (engines === 'auto' && environment.DEMO_STT_TYPE) ||
    (has('DEEPGRAM_API_KEY') ? 'deepgram' : has('ELEVENLABS_API_KEY') ? 'elevenlabs' : has('CARTESIA_API_KEY') ? 'cartesia' : 'local');
  const tts =
    (engines === 'auto' && environment.DEMO_TTS_TYPE) ||
    (has('ELEVENLABS_API_KEY')
      ? 'elevenlabs'
      : has('DEEPGRAM_API_KEY')
        ? 'deepgram'
        : has('OPENAI_API_KEY')
          ? 'openai'
          : has('CARTESIA_API_KEY')
            ? 'cartesia'
            : 'local');
  const offline = (kind: string, value: string) => (value === 'local' || value === 'local.scripted' ? `${kind} ${value} (offline)` : `${kind} ${value}`);
  return {
    engine_model: llm,
    stt_type: stt,
    tts_type: tts,
    description: [
      offline('LLM', llm),
      stt === 'local' ? 'STT local (offline pocketsphinx grammar)' : `STT ${stt}`,
      tts === 'local' ? 'TTS local (offline espeak-ng)' : `TTS ${tts}`,
    ],
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1).padStart(5)}s`;

function substitute(text: string, variables: Record<string, unknown>): string {
  return text.replace(/\$\{([A-Za-z0-9_.-]+)\}/g, (_match, name: string) => String(variables[name] ?? ''));
}

/** Resolves once the caller has heard audio and then `quietMs` of nothing. */
async function waitForTurnEnd(caller: Caller, quietMs: number, timeoutMs: number): Promise<void> {
  await caller.waitForAudio(timeoutMs);
  for (;;) {
    await caller.waitForSilence(timeoutMs);
    const resumed = await caller.waitForAudio(quietMs).then(
      () => true,
      () => false,
    );
    if (!resumed || caller.ended) return;
  }
}

/** Runs the demo; see the module comment. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const source = options.environment ?? process.env;
  const lines: string[] = [];
  const write = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const print = (line: string) => {
    lines.push(line);
    write(line);
  };
  const input: Record<string, string> = {};
  for (const key of Object.keys(oneProcessEnvironmentSchema.shape)) {
    const value = source[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = oneProcessEnvironmentSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(`bad settings: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const environment: OneProcessEnvironment = parsed.data;
  if (environment.ARI_URL) throw new Error('the demo places its call on the built-in Asterisk simulator: unset ARI_URL');
  const logger = options.logger ?? createLogger({ name: 'platform', level: source.LOG_LEVEL || 'warn' });
  const keepRunning = options.keepRunning ?? true;
  const wavPath = path.resolve(options.wavPath ?? (source.DEMO_WAV || './demo-call.wav'));
  const engines = chooseDemoEngines(source, options.engines ?? 'auto');
  const callTimeoutMs = options.callTimeoutMs ?? 120_000;

  print(`Starting the platform in one process (data: ${environment.DATABASE_URL ? 'PostgreSQL' : `PGlite in ${environment.DATA_DIR}`}; messages: ${environment.RABBITMQ_URL ? 'RabbitMQ' : 'in-process bus'}; telephony: built-in Asterisk simulator) ...`);
  const platform = await startOneProcess({ ...environment, EMBEDDED_ASTERISK: true }, logger, { handleSignals: false, pipelineManager: options.pipelineManager });
  const subscriptions: Subscription[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const subscription of subscriptions) await subscription.close().catch(() => undefined);
    await platform.stop();
  };
  try {
    const asterisk = platform.asterisk;
    if (!asterisk) throw new Error('the built-in Asterisk simulator did not start');
    await asterisk.waitForApp(environment.ARI_APP, 20_000);
    const accessKey = (await readFile(path.join(environment.DATA_DIR, 'development-access-key'), 'utf8')).trim();
    print(`Platform ready at ${platform.url}`);
    print(`Engines: ${engines.description.join(', ')}`);

    const api = async <T = Record<string, unknown>>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${platform.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${accessKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}: ${text}`);
      return JSON.parse(text) as T;
    };

    // The caller's lines, synthesised before the call so that speaking starts on time.
    const callerVoice = source.DEMO_CALLER_VOICE || 'en-us';
    const callerAudio = await Promise.all(
      demoCallerLines.map(async (line) => (await resampleClip(await synthesizeWithEspeak(line, { voice: callerVoice, wordsPerMinute: 150 }), 16_000)).samples),
    );

    // Through the public API: the AI, the flow, and a number that starts the flow.
    const offlineLlm = engines.engine_model === 'local.scripted';
    const stopSecs = defaultVadConfig.stop_secs;
    const ai = await api<{ id: string; customer_id: string }>('POST', '/v1.0/ais', {
      name: 'Demo receptionist',
      detail: 'Created by pnpm demo',
      engine_model: engines.engine_model,
      init_prompt: offlineLlm ? JSON.stringify(demoScript) : demoPrompt,
      tts_type: engines.tts_type,
      stt_type: engines.stt_type,
      stt_language: 'en-US',
      tool_names: ['set_variables', 'stop_service'],
      parameter: { stt_phrases: demoSttPhrases },
    });
    print(`Created AI ${ai.id} (POST /v1.0/ais)`);
    const flow = await api<{ id: string }>('POST', '/v1.0/flows', { name: 'Demo flow', actions: demoFlowActions(ai.id) });
    print(`Created flow ${flow.id} (POST /v1.0/flows): answer -> ai_talk -> talk -> hangup`);
    const number = `+1555${String(Date.now()).slice(-7)}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
    print(`Bound number ${number} to the flow (POST /v1.0/numbers)`);

    // Live output: the events the services publish (the same ones GET /v1.0/ws pushes).
    const call = { startedAt: undefined as number | undefined };
    const at = () => `[${seconds(call.startedAt === undefined ? 0 : performance.now() - call.startedAt)}]`;
    let activeflowId: string | undefined;
    let aicallId: string | undefined;
    let currentActionId: string | undefined;
    let flowTalkStartedAtMs: number | undefined;
    let aiTalkSeen = false;
    const turnLatencies: DemoTurnLatency[] = [];
    const tag = `demo-${process.pid}-${Date.now()}`;
    subscriptions.push(
      await platform.bus.subscribe(
        'flow-manager',
        ['activeflow_created', 'activeflow_updated'],
        async (event: EventEnvelope) => {
          const activeflow = event.data as { id: string; flow_id: string; current_action: { id: string; type: string; option?: Record<string, unknown> } | null; variables: Record<string, unknown> };
          if (activeflow.flow_id !== flow.id) return;
          activeflowId ??= activeflow.id;
          const action = activeflow.current_action;
          if (!action || action.id === currentActionId) return;
          currentActionId = action.id;
          if (action.type === 'ai_talk') aiTalkSeen = true;
          if (action.type === 'block') return; // ai_talk waiting for its session: nothing to show.
          if (action.type === 'talk') {
            if (aiTalkSeen && flowTalkStartedAtMs === undefined && call.startedAt !== undefined) flowTalkStartedAtMs = performance.now() - call.startedAt;
            print(`${at()} flow: talk "${substitute(String(action.option?.text ?? ''), activeflow.variables)}"`);
          } else {
            print(`${at()} flow: ${action.type}`);
          }
        },
        { queue: `${tag}-flow`, temporary: true },
      ),
    );
    subscriptions.push(
      await platform.bus.subscribe(
        'ai-manager',
        ['aimessage_created', 'aicall_status_progressing', 'aicall_status_terminated'],
        async (event: EventEnvelope) => {
          if (event.type.startsWith('aicall_status')) {
            const aicall = event.data as { id: string; assistance_id: string };
            if (aicall.assistance_id !== ai.id) return;
            aicallId ??= aicall.id;
            print(`${at()} AI session ${event.type === 'aicall_status_progressing' ? 'started' : 'ended'} (aicall ${aicall.id})`);
            return;
          }
          const message = event.data as { aicall_id: string; active_ai_id: string; role: string; content: string; tool_calls?: { function: { name: string; arguments: string } }[] };
          if (message.active_ai_id !== ai.id) return;
          if (message.role === 'user') print(`${at()} AI heard: "${message.content}"`);
          if (message.role === 'assistant') {
            if (message.content) print(`${at()} AI: ${message.content}`);
            for (const call of message.tool_calls ?? []) print(`${at()} tool call: ${call.function.name} ${call.function.arguments}`);
          }
          if (message.role === 'tool') {
            let shown = message.content;
            try {
              const result = JSON.parse(message.content) as { result?: string; message?: string };
              shown = [result.result, result.message].filter(Boolean).join(': ');
            } catch {
              // Shown as stored.
            }
            print(`${at()} tool result: ${shown}`);
          }
        },
        { queue: `${tag}-ai`, temporary: true },
      ),
    );
    subscriptions.push(
      await platform.bus.subscribe(
        'pipeline-manager',
        ['pipeline_turn_latency'],
        async (event: EventEnvelope) => {
          const data = event.data as { aicall_id: string; turn: number; userStoppedAt?: number; sttFinalAt?: number; llmRequestAt?: number; llmFirstTokenAt?: number; ttsFirstByteAt?: number; firstAudioAt?: number };
          if (aicallId !== undefined && data.aicall_id !== aicallId) return;
          const span = (from: number | undefined, to: number | undefined) => (from !== undefined && to !== undefined ? Math.round(to - from) : undefined);
          const latency: DemoTurnLatency = {
            turn: data.turn,
            totalMs: span(data.userStoppedAt ?? data.llmRequestAt, data.firstAudioAt),
            sttMs: span(data.userStoppedAt, data.sttFinalAt),
            llmFirstTokenMs: span(data.llmRequestAt, data.llmFirstTokenAt),
            ttsFirstByteMs: span(data.llmFirstTokenAt, data.ttsFirstByteAt),
          };
          turnLatencies.push(latency);
          const parts = [
            latency.sttMs === undefined ? undefined : latency.sttMs <= 0 ? 'STT final before the end of speech was detected' : `STT final ${latency.sttMs} ms`,
            latency.llmFirstTokenMs === undefined ? undefined : `LLM first token ${latency.llmFirstTokenMs} ms`,
            latency.ttsFirstByteMs === undefined ? undefined : `TTS first audio ${latency.ttsFirstByteMs} ms`,
          ].filter(Boolean);
          const from = data.userStoppedAt !== undefined ? 'the end of the caller\'s speech' : 'the turn started';
          print(`${at()} AI starts speaking (turn ${data.turn}: first audio ${latency.totalMs ?? '?'} ms after ${from}${parts.length ? `; ${parts.join(', ')}` : ''})`);
        },
        { queue: `${tag}-pipeline`, temporary: true },
      ),
    );

    // The call.
    print('');
    print(`Calling ${number} ...`);
    call.startedAt = performance.now();
    const caller = asterisk.placeCall({ app: environment.ARI_APP, extension: number, callerNumber: '+15550100', callerName: 'Demo caller' });
    const deadline = Date.now() + callTimeoutMs;
    const left = () => Math.max(1000, deadline - Date.now());
    try {
      await caller.waitForAnswer(left());
      await waitForTurnEnd(caller, 1200, left());
      for (const [index, line] of demoCallerLines.entries()) {
        if (caller.ended) break;
        print(`${at()} Caller: ${line}`);
        const answered = caller.responseLatenciesMs.length;
        await caller.play(callerAudio[index]!);
        await caller.waitForAudio(left());
        const heard = caller.responseLatenciesMs[answered];
        if (heard !== undefined) {
          print(`${at()} Caller hears the reply ${Math.round(heard)} ms after it stopped speaking (${stopSecs} s of it is the VAD waiting for the end of speech, vad_config.stop_secs)`);
        }
        await waitForTurnEnd(caller, 1200, left());
      }
      // A real language model may not end the conversation as asked: the caller then hangs up.
      const hungUp = await caller.waitForHangup(Math.min(left(), offlineLlm ? callTimeoutMs : 45_000)).then(
        () => true,
        () => false,
      );
      if (hungUp) print(`${at()} The flow hung up.`);
      else {
        print(`${at()} The caller hangs up (the conversation did not end by itself).`);
        caller.hangup();
      }
    } catch (error) {
      caller.hangup();
      throw new Error(`the demo call did not complete: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }

    // What is stored, through the public API.
    const waitFor = async <T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const value = await read();
        if (value !== undefined) return value;
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    if (!activeflowId) {
      const calls = await api<{ result: { channel_id: string; activeflow_id: string }[] }>('GET', '/v1.0/calls');
      activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)?.activeflow_id;
    }
    if (!activeflowId) throw new Error('no activeflow was found for the call');
    const activeflow = await waitFor(async () => {
      const found = await api(`GET`, `/v1.0/activeflows/${activeflowId}`);
      return found.status === 'ended' ? found : undefined;
    }, 'the activeflow to end');
    const aicall = await waitFor(async () => {
      const list = await api<{ result: Record<string, unknown>[] }>('GET', '/v1.0/aicalls');
      const found = list.result.find((entry) => entry.activeflow_id === activeflowId);
      return found?.status === 'terminated' ? found : undefined;
    }, 'the AIcall to end');
    const messages = (await api<{ result: DemoResult['messages'] }>('GET', `/v1.0/aimessages?aicall_id=${String(aicall.id)}`)).result.reverse();

    const wav = caller.conversationWav();
    await writeFile(wavPath, wav);
    const wavSeconds = (wav.length - 44) / 4 / 16_000;
    const heardFrom = flowTalkStartedAtMs;
    const flowTalkHeard = heardFrom !== undefined && caller.heardSegments.some((segment) => segment.endMs > heardFrom + 200);

    const variables = Object.fromEntries(Object.entries((activeflow.variables ?? {}) as Record<string, unknown>).filter(([name]) => !name.startsWith('voipbin.')));
    print('');
    print(`Activeflow ${activeflowId} (GET /v1.0/activeflows/${activeflowId}): ${String(activeflow.status)}, end reason "${String(activeflow.end_reason ?? '')}"`);
    print(`  variables set in the call: ${JSON.stringify(variables)}`);
    print(`AIcall ${String(aicall.id)}: ${messages.length} messages stored (GET /v1.0/aimessages?aicall_id=${String(aicall.id)})`);
    if (caller.responseLatenciesMs.length > 0) {
      print(`Caller's view, end of speech -> first audio heard: ${caller.responseLatenciesMs.map((value) => `${Math.round(value)} ms`).join(', ')}`);
    }
    print(`Call audio: ${wavPath} (${wavSeconds.toFixed(1)} s, stereo 16 kHz: left = caller, right = what the caller heard)`);

    const result: DemoResult = {
      url: platform.url,
      accessKey,
      aiId: ai.id,
      flowId: flow.id,
      activeflowId,
      aicallId: String(aicall.id),
      activeflow,
      aicall,
      messages,
      callerLines: demoCallerLines,
      responseLatenciesMs: [...caller.responseLatenciesMs],
      turnLatencies,
      flowTalkStartedAtMs,
      flowTalkHeard,
      wavPath,
      wavSeconds,
      engines,
      lines,
      platform: undefined,
    };

    for (const subscription of subscriptions.splice(0)) await subscription.close().catch(() => undefined);
    if (!keepRunning) {
      await stop();
      return result;
    }
    print('');
    print(`The platform keeps running. API docs: ${platform.url}/v1.0/docs`);
    print(`Development access key: ${accessKey}`);
    print(`  try: curl -H 'Authorization: Bearer ${accessKey}' ${platform.url}/v1.0/aimessages?aicall_id=${String(aicall.id)}`);
    print('Press Ctrl+C to stop.');
    return { ...result, platform };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
