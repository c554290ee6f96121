import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PipelineManagerOptions } from '@avp/pipeline-manager';
import { createLogger, defaultEndOfTurnConfig, type Logger, type Subscription } from '@avp/shared';
import { oneProcessEnvironmentSchema, type OneProcessEnvironment } from './config.ts';
import { synthesizeCallerLines, talkThroughDemoCall } from './demo-call.ts';
import { demoCallTime, followDemoEvents, type DemoCallClock, type DemoTurnLatency } from './demo-events.ts';
import { runDemoSmsConversation, type DemoSmsResult } from './demo-sms.ts';
import { chooseDemoEngines, demoCallerLines, demoFlowActions, demoPrompt, demoScript, demoSttPhrases, type DemoEngines, type DemoEnvironment } from './demo-scenario.ts';
import { startOneProcess, type OneProcessPlatform } from './start-one-process.ts';

export { chooseDemoEngines, demoCallerLines, demoFlowActions, demoPrompt, demoScript, demoSttPhrases, type DemoEngines, type DemoEnvironment } from './demo-scenario.ts';
export type { DemoTurnLatency } from './demo-events.ts';
export { demoSmsLines, demoSmsScript, type DemoSmsResult } from './demo-sms.ts';

/**
 * `pnpm demo`: the platform in one process (PGlite, in-process bus, the built-in Asterisk
 * simulator), an AI and a flow created through the public API, and one simulated phone call
 * whose caller speaks with synthesised speech. The conversation is printed as it happens,
 * the call's audio (both directions) is written to a WAV file; then a short SMS conversation
 * with an AI through an SMS channel whose vendor API is a loopback stand-in (demo-sms.ts), and
 * the API keeps running.
 *
 * The scenario is in demo-scenario.ts, the live output in demo-events.ts, the caller in demo-call.ts.
 */

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
  /** The SMS conversation after the call. */
  sms: DemoSmsResult;
  /** The call's summary (GET /v1.0/aisummaries): its status and text. */
  summary: { status: string; content: string };
  /** Every line printed. */
  lines: string[];
  /** The running platform when `keepRunning` is true (whoever called runDemo stops it); undefined otherwise. */
  platform: OneProcessPlatform | undefined;
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
  // The call's transcription (for its summary) uses the demo's recogniser unless one is named.
  input.TRANSCRIBE_STT_TYPE ??= chooseDemoEngines(source, options.engines ?? 'auto').stt_type || 'deepgram';
  // The SMS conversation's vendor API is a loopback stand-in: the channel must be allowed to reach it.
  input.OUTBOUND_ALLOWED_HOSTS = [input.OUTBOUND_ALLOWED_HOSTS, '127.0.0.1'].filter(Boolean).join(',');
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
    const callerAudio = await synthesizeCallerLines(demoCallerLines, source.DEMO_CALLER_VOICE || 'en-us');

    // Through the public API: the AI, the flow, and a number that starts the flow.
    const offlineLlm = engines.engine_model === 'local.scripted';
    const endOfTurnSecs = defaultEndOfTurnConfig.complete_stop_secs;
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
    print(`Created flow ${flow.id} (POST /v1.0/flows): answer -> transcribe_start -> ai_summary -> ai_talk -> talk -> hangup`);
    const number = `+1555${String(Date.now()).slice(-7)}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
    print(`Bound number ${number} to the flow (POST /v1.0/numbers)`);

    // Live output: the events the services publish (the same ones GET /v1.0/ws pushes).
    const call: DemoCallClock = { startedAt: undefined };
    const at = () => demoCallTime(call);
    const events = await followDemoEvents(platform.bus, { flowId: flow.id, aiId: ai.id, call, print, subscriptions });

    // The call.
    print('');
    print(`Calling ${number} ...`);
    call.startedAt = performance.now();
    const caller = asterisk.placeCall({ app: environment.ARI_APP, extension: number, callerNumber: '+15550100', callerName: 'Demo caller' });
    await talkThroughDemoCall(caller, { lines: demoCallerLines, audio: callerAudio, print, at, callTimeoutMs, offlineLlm, endOfTurnSecs });

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
    let activeflowId = events.activeflowId;
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
    const flowTalkStartedAtMs = events.flowTalkStartedAtMs;
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

    // The call's summary, written from its transcription once the call hung up.
    const summary = await waitFor(async () => {
      const list = await api<{ result: { id: string; reference_id: string; status: string; content: string; failure_reason: string }[] }>('GET', '/v1.0/aisummaries');
      const found = list.result.find((entry) => entry.reference_id === String(activeflow.reference_id));
      return found && found.status !== 'progressing' ? found : undefined;
    }, 'the call summary', 60_000);
    print('');
    print(`AI summary ${summary.id} (GET /v1.0/aisummaries/${summary.id}): ${summary.status}${summary.failure_reason ? ` (${summary.failure_reason})` : ''}`);
    for (const line of summary.content.split('\n')) print(`  ${line}`);

    // A text conversation: the same platform answers SMS through a channel (offline engine).
    print('');
    print('Now an SMS conversation with an AI (the SMS vendor is a stand-in on 127.0.0.1; OUTBOUND_ALLOWED_HOSTS includes 127.0.0.1 for the demo) ...');
    const sms = await runDemoSmsConversation({ url: platform.url, api, print });

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
      turnLatencies: events.turnLatencies,
      flowTalkStartedAtMs,
      flowTalkHeard,
      wavPath,
      wavSeconds,
      engines,
      sms,
      summary: { status: summary.status, content: summary.content },
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
    print(`Web console: ${platform.url}/console (sign in with the development access key below)`);
    print(`Development access key: ${accessKey}`);
    print(`  try: curl -H 'Authorization: Bearer ${accessKey}' ${platform.url}/v1.0/aimessages?aicall_id=${String(aicall.id)}`);
    print('Press Ctrl+C to stop.');
    return { ...result, platform };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
