import { createStreamResampler, migrateToLatest, type RpcRouter, type Service, type ServiceContext, type Subscription } from '@avp/shared';
import { migrations } from './db/migrations.ts';
import { registerMediaMetrics } from './media/media-metrics.ts';
import type { VadEngine } from './media/vad/speech-probability.ts';
import { createLlmProvider, createSttProvider, createTtsProvider } from './providers/registry.ts';
import { InstanceHeartbeat } from './sessions/instance-heartbeat.ts';
import { PipelineLiveness, type PipelineLivenessOptions } from './sessions/pipeline-liveness.ts';
import { PipelineSessions, type PipelineSessionsOptions, type ProviderSource } from './sessions/pipeline-sessions.ts';
import { ReportOutbox, type ReportOutboxSettings } from './sessions/report-outbox.ts';
import { createPipelineRpcRouter } from './sessions/rpc-routes.ts';
import { TurnMetrics } from './sessions/turn-metrics.ts';
import { Summaries, type SummariesOptions } from './summaries/summaries.ts';
import { TextTurns, type TextTurnsOptions } from './text/text-turns.ts';
import { Transcribers } from './transcribe/transcribers.ts';

/** The service's name: its bus queues are `pipeline-manager.request` and `pipeline-manager.event`. */
export const serviceName = 'pipeline-manager';

/** The PostgreSQL schema that holds this service's tables. */
export const databaseSchema = 'pipeline_manager';

export interface PipelineManagerOptions {
  /** Where providers come from (default: the registry, keys from the AI or the environment). */
  providers?: ProviderSource;
  /** Address RTP sockets bind to and give Asterisk (default 127.0.0.1). */
  mediaHost?: string;
  /** How calls' audio reaches the pipelines unless an AI says otherwise (default rtp). */
  mediaTransport?: 'rtp' | 'websocket';
  vadEngine?: VadEngine;
  /** A VAD per session (tests). */
  createVad?: PipelineSessionsOptions['createVad'];
  /** How pipelines check that their AIcall and call still exist (LIVENESS_CHECK_INTERVAL_MS, MEDIA_TIMEOUT_MS). */
  liveness?: Pick<PipelineLivenessOptions, 'intervalMs' | 'mediaTimeoutMs' | 'requestTimeoutMs'>;
  /** The buffer and retries of reports to ai-manager (REPORT_BUFFER_SIZE, REPORT_RETRY_FOR_MS). */
  reports?: Partial<ReportOutboxSettings>;
  /** Time between this process's heartbeats, by which ai-manager notices it died (HEARTBEAT_INTERVAL_MS; default 250 ms, 0 = none). */
  heartbeatIntervalMs?: number;
  /** Text conversations' LLM waits (TEXT_FIRST_OUTPUT_TIMEOUT_MS, default 15 s; TEXT_REQUEST_TIMEOUT_MS, default 60 s). */
  textTurns?: Pick<TextTurnsOptions, 'firstOutputTimeoutMs' | 'requestTimeoutMs'>;
  /** Summaries' LLM wait (SUMMARY_REQUEST_TIMEOUT_MS, default 120 s). */
  summaries?: Pick<SummariesOptions, 'requestTimeoutMs'>;
}

/**
 * Providers from the registry: the AI's settings, keys from the AI or the environment; TTS
 * audio at other rates is brought to 16 kHz by the band-limited speex resampler.
 */
export const registryProviders: ProviderSource = {
  llm: (ai) => createLlmProvider(ai),
  stt: (ai) => createSttProvider(ai),
  tts: (ai) => createTtsProvider(ai, { resample: createStreamResampler }),
};

/** The parts of a running pipeline-manager, for tests. */
export interface PipelineManager extends Service {
  sessions: PipelineSessions;
  /** The bus routes it serves (tests enumerate them to check every one for tenant isolation). */
  rpcRouter: RpcRouter;
}

/** Builds pipeline-manager from its dependencies and brings its schema up to date. */
export async function createPipelineManager(context: ServiceContext, options: PipelineManagerOptions = {}): Promise<PipelineManager> {
  const logger = context.logger.child({ component: serviceName });
  await migrateToLatest(context.database, { schema: databaseSchema, migrations, logger });
  registerMediaMetrics(context.metrics);
  const turnMetrics = new TurnMetrics(context.metrics);
  const reports = new ReportOutbox({ logger, metrics: context.metrics, settings: options.reports });
  const sessions = new PipelineSessions({
    bus: context.bus,
    logger,
    instanceId: context.instanceId,
    providers: options.providers ?? registryProviders,
    mediaHost: options.mediaHost,
    mediaTransport: options.mediaTransport,
    vadEngine: options.vadEngine,
    createVad: options.createVad,
    serviceName,
    reports,
    onConversationEvent: (event) => turnMetrics.observe(event),
  });
  turnMetrics.countActiveSessions(() => sessions.size);
  const textTurns = new TextTurns({ bus: context.bus, logger, providers: options.providers ?? registryProviders, serviceName, ...options.textTurns });
  const providers = options.providers ?? registryProviders;
  const transcribers = new Transcribers({
    bus: context.bus,
    logger,
    serviceName,
    instanceId: context.instanceId,
    rtpAddress: options.mediaHost,
    stt: (request) => providers.stt({ engine_model: '', tts_type: '', tts_voice_id: '', stt_type: request.stt_type, stt_language: request.stt_language, parameter: request.parameter }),
  });
  const summaries = new Summaries({ bus: context.bus, logger, providers, serviceName, ...options.summaries });
  const router = createPipelineRpcRouter(sessions, { serviceName, instanceId: context.instanceId }, textTurns, transcribers, summaries);
  const liveness = new PipelineLiveness({ bus: context.bus, logger, serviceName, pipelines: () => sessions.livenessTargets(), ...options.liveness });
  const heartbeat = new InstanceHeartbeat({
    bus: context.bus,
    logger,
    serviceName,
    instanceId: context.instanceId,
    pipelines: () => sessions.heartbeat(),
    intervalMs: options.heartbeatIntervalMs,
    // Woken from a stall: were our sessions taken over meanwhile? Ask now, not at the next check.
    onStall: () => void liveness.check(),
  });

  let server: Subscription | undefined;
  return {
    name: serviceName,
    sessions,
    rpcRouter: router,
    registerRoutes: () => undefined,
    async start() {
      server = await context.bus.serve(serviceName, router.handle, { instanceId: context.instanceId });
      logger.info({ instanceId: context.instanceId }, 'serving requests');
      liveness.start();
      heartbeat.start();
    },
    async stop() {
      heartbeat.stop();
      await liveness.stop();
      await server?.close();
      server = undefined;
      await sessions.stopAll('pipeline-manager is shutting down');
      await transcribers.stopAll('pipeline-manager is shutting down');
    },
  };
}
