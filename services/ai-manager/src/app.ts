import { authFailureLimiter, defaultRateLimit, migrateToLatest, OutboundPolicy, RateLimiter, type RateLimitSettings, type RpcRouter, type Service, type ServiceContext, type Subscription } from '@avp/shared';
import { writeFile } from 'node:fs/promises';
import { migrations } from './db/migrations.ts';
import type { AiManagerTables } from './db/tables.ts';
import type { DomainContext } from './domain/context.ts';
import { BillingService, type BillingSettings } from './domain/billing/billing-service.ts';
import { createCustomer } from './domain/customers/customer-service.ts';
import { countCustomers, findLiveKeyIds } from './domain/customers/customer-repository.ts';
import { KeyAuthenticator } from './domain/customers/key-authenticator.ts';
import { SecretBox } from './domain/secrets/secret-box.ts';
import { ConversationService, type ConversationServiceOptions } from './conversations/conversation-service.ts';
import { SummaryService, type SummaryServiceOptions } from './summaries/summary-service.ts';
import { TranscribeService, type TranscribeServiceOptions } from './transcribes/transcribe-service.ts';
import { TranscriberWatchdog } from './transcribes/transcriber-watchdog.ts';
import { createAiManagerMetrics } from './events/ai-manager-metrics.ts';
import { EventPublisher } from './events/event-publisher.ts';
import { EventRelay, type EventRelayOptions } from './events/event-relay.ts';
import { FlowEventRelay } from './events/flow-event-relay.ts';
import { outboxReplay } from './events/event-replay.ts';
import { Revocations } from './events/revocations.ts';
import { WebsocketHub, type WebsocketHubOptions } from './events/websocket-hub.ts';
import { registerPublicApi } from './routes/public-api.ts';
import { createAiManagerRpcRouter } from './rpc/rpc-routes.ts';
import { PipelineWatchdog, type PipelineWatchdogOptions } from './sessions/pipeline-watchdog.ts';
import { PipelineInstances } from './sessions/pipeline-instances.ts';
import { PipelineTakeover } from './sessions/pipeline-takeover.ts';
import { SessionResumer } from './sessions/session-resume.ts';
import { SessionService, type OfferedTool, type SessionServiceOptions } from './sessions/session-service.ts';
import { WebSessions } from './sessions/web-sessions.ts';
import { toolDefinitions } from './tools/tool-catalog.ts';
import { ToolExecutor, type ToolExecutorOptions } from './tools/tool-executor.ts';
import { WebhookDispatcher, type WebhookDispatcherOptions } from './webhooks/webhook-dispatcher.ts';

/** The service's name: its bus queues are `ai-manager.request` and `ai-manager.event`. */
export const serviceName = 'ai-manager';

/** The PostgreSQL schema that holds this service's tables. */
export const databaseSchema = 'ai_manager';

/** What ai-manager is configured with (see config.ts for the environment variables). */
export interface AiManagerOptions {
  /** Guards the admin API; without it the admin API refuses every request. */
  adminToken?: string;
  /** Required: the AES-256-GCM key for engine keys (hex or base64, 32 bytes). */
  engineKeyEncryptionKey?: string;
  /** Per access key; `perSecond: 0` turns limiting off (default 20 a second, bursts of 100). */
  rateLimit?: RateLimitSettings;
  /** Which URLs customers may have us call (webhooks); default: public addresses only. */
  outbound?: OutboundPolicy;
  webhooks?: Partial<WebhookDispatcherOptions>;
  websocket?: Partial<WebsocketHubOptions>;
  eventRelay?: Partial<EventRelayOptions>;
  /**
   * WebSocket resume: how long published events are kept for replay (default 5 minutes) and
   * the most one replay carries (default 10,000).
   */
  eventReplay?: { windowMs?: number; maxEvents?: number };
  /** How long an access-key lookup is cached (default 5000 ms). */
  keyCacheTtlMs?: number;
  /**
   * One-process mode: when there is no customer yet, create a development customer, log
   * its key and write it to `keyFile`.
   */
  developmentCustomer?: { keyFile?: string };
  /** The tools offered to an AI's LLM for its `tool_names` (default: the platform's catalog). */
  tools?: (toolNames: string[]) => OfferedTool[];
  /** Billing: starting balance, minimum to start, cutoff, rates (micro-units; see config.ts for the variables). */
  billing?: Partial<BillingSettings>;
  /** How the liveness of voice pipelines is checked (default: every 2 s, lost after 10 s of failed checks; `intervalMs: 0` = off). */
  pipelineWatchdog?: Pick<PipelineWatchdogOptions, 'intervalMs' | 'probeTimeoutMs' | 'lostAfterMs' | 'minFailedChecks' | 'stopTimeoutMs'>;
  /**
   * Crash resumption (PIPELINE_TAKEOVER_AFTER_MS, PIPELINE_RESUME_APOLOGY): heartbeats missing
   * this long (default 1000 ms) with the instance's queue dead make another instance take its
   * sessions over; `tickMs: 0` turns the fast path off (lost sessions are still offered to
   * another instance by the watchdog before they end).
   */
  pipelineTakeover?: {
    silentAfterMs?: number;
    reconnectGraceMs?: number;
    tickMs?: number;
    probeTimeoutMs?: number;
    apology?: string;
    startTimeoutMs?: number;
  };
  /** Shortest time between a change of a live voice session and a message sent into it (default 3000 ms). */
  sendCooldownMs?: number;
  /** Retries of the hand-back to the flow when a session ends (default: for 10 minutes, backoff 0.5 s to 15 s). */
  giveBack?: SessionServiceOptions['giveBack'];
  /** SMTP for send_email; without it the tool is not offered. */
  email?: ToolExecutorOptions['email'];
  /** The SMS provider for send_message; without it the tool is not offered. */
  sms?: ToolExecutorOptions['sms'];
  /**
   * PUBLIC_URL: the URL vendors reach this service at (`https://api.example.com`), for the
   * channels' `webhook_url` and the URL Twilio signs; default: each request's scheme and host.
   */
  publicUrl?: string;
  /**
   * FLOW_MANAGER_API_URL: where the MCP endpoint's tools reach flow-manager's public routes
   * when it runs as a service of its own; unset: on the same server (the one-process mode).
   */
  flowManagerApiUrl?: string;
  /**
   * WEB_SESSION_RELAY_URL: `ws://host:port` where pipeline-manager reaches this instance for a
   * web session's audio; unset: the address the browser's connection arrived at.
   */
  webSessionRelayUrl?: string;
  /** How long a web session's media token waits for its browser (default 60 s); then the AIcall ends. */
  webSessionTokenTtlMs?: number;
  /**
   * Text conversations' AI: AICALL_CONVERSATION_IDLE_TIMEOUT_HOURS (idleTimeoutMs, default 24 h),
   * how long an answer may take (TEXT_ANSWER_TIMEOUT_MS), the clock idle expiry reads (tests).
   */
  textSessions?: Omit<NonNullable<SessionServiceOptions['text']>, 'deliver'>;
  /** `ai_task`: how long a task may run (AICALL_TASK_TIMEOUT_SECONDS, default 30 s) and its LLM requests. */
  taskSessions?: SessionServiceOptions['task'];
  /** Live transcription: the recogniser (TRANSCRIBE_STT_TYPE, default deepgram) and how long a transcriber may take to start. */
  transcribes?: Pick<TranscribeServiceOptions, 'sttType' | 'startTimeoutMs'>;
  /**
   * AI summaries: the platform's engine (SUMMARY_ENGINE_MODEL / SUMMARY_ENGINE_KEY, default
   * `local`), the sweep for summaries a crash left unwritten (SUMMARY_SWEEP_INTERVAL_MS), waits.
   */
  summaries?: Pick<SummaryServiceOptions, 'engine' | 'sweepIntervalMs' | 'writeTimeoutMs' | 'staleClaimSeconds'>;
  /** Conversations over SMS and LINE: send timeout, reply-token lifetime, flow-start retries. */
  conversations?: Pick<ConversationServiceOptions, 'sendTimeoutMs' | 'replyTokenTtlMs' | 'flowStarts'>;
}

const defaultWebhookOptions: WebhookDispatcherOptions = {
  timeoutMs: 5000,
  maxAttempts: 10,
  retryBaseMs: 1000,
  retryMaxMs: 600_000,
  pollIntervalMs: 1000,
  batchSize: 20,
};

/** A running ai-manager as the other code sees it. */
export interface AiManager extends Service {
  /** The bus routes it serves (tests enumerate them to check every one for tenant isolation). */
  rpcRouter: RpcRouter;
  /** AI sessions, voice and text (tests wait for text answers with `sessions.text.idle()`). */
  sessions: SessionService;
  /** SMS and LINE conversations: `deliver` sends a reply through a conversation's channel. */
  conversations: ConversationService;
}

/** Builds ai-manager from its dependencies and brings its schema up to date. */
export async function createAiManager(context: ServiceContext, options: AiManagerOptions = {}): Promise<AiManager> {
  const logger = context.logger.child({ component: serviceName });
  if (!options.engineKeyEncryptionKey) {
    throw new Error('ai-manager needs ENGINE_KEY_ENCRYPTION_KEY (32 bytes, hex or base64) to encrypt engine keys');
  }
  const secrets = SecretBox.fromEncodedKey(options.engineKeyEncryptionKey);
  await migrateToLatest(context.database, { schema: databaseSchema, migrations, logger });

  const db = context.database.forSchema<AiManagerTables>(databaseSchema);
  const events = new EventPublisher(context.bus, serviceName, databaseSchema, logger);
  const outbound = options.outbound ?? new OutboundPolicy();
  const domain: DomainContext = { db, events, secrets, logger, billing: new BillingService(db, options.billing), outbound };
  const authenticator = new KeyAuthenticator(db, options.keyCacheTtlMs ?? 5000);
  const rateLimit = options.rateLimit ?? defaultRateLimit;
  const limiter = new RateLimiter(rateLimit.perSecond, rateLimit.burst);
  const authFailures = authFailureLimiter(rateLimit);
  const hub = new WebsocketHub(logger, {
    heartbeatMs: 30_000,
    maxBufferedBytes: 1024 * 1024,
    keyCheckMs: 5000,
    liveKeyIds: (keyIds) => findLiveKeyIds(db, keyIds),
    onClientCount: (count) => metrics.websocketClients.set(count),
    readEventsSince: outboxReplay(db, serviceName, options.eventReplay?.maxEvents ?? 10_000),
    ...options.websocket,
  });
  const revocations = new Revocations(context.bus, serviceName, authenticator, hub, logger);
  const metrics = createAiManagerMetrics(context.metrics);
  const flowEvents = new FlowEventRelay({ db, bus: context.bus, events, logger, serviceName });
  const relay = new EventRelay(db, events, logger, {
    intervalMs: 1000,
    staleAfterMs: 10_000,
    batchSize: 100,
    replayWindowMs: options.eventReplay?.windowMs ?? 300_000,
    onRepublished: (count) => metrics.eventsRepublished.inc(count),
    ...options.eventRelay,
  });
  const dispatcher = new WebhookDispatcher(db, logger, outbound, {
    ...defaultWebhookOptions,
    onAttempt: (outcome) => metrics.webhookAttempts.inc({ outcome }),
    ...options.webhooks,
  });
  const tools = new ToolExecutor(domain, context.bus, logger, serviceName, { email: options.email, sms: options.sms });
  const sessions = new SessionService({
    domain,
    bus: context.bus,
    logger,
    serviceName,
    tools: options.tools ?? ((toolNames) => toolDefinitions(toolNames).filter((tool) => tools.isAvailable(tool.name))),
    pendingEnds: tools.pendingEnds,
    ...(options.sendCooldownMs !== undefined ? { sendCooldownMs: options.sendCooldownMs } : {}),
    metrics: context.metrics,
    giveBack: options.giveBack,
    // Replies in SMS and LINE conversations go out through the conversation's channel.
    text: { ...options.textSessions, deliver: (input) => conversations.deliver(input) },
    task: options.taskSessions,
  });
  const webSessions = new WebSessions({
    domain,
    sessions,
    logger,
    ...(options.webSessionRelayUrl ? { relayBaseUrl: options.webSessionRelayUrl } : {}),
    ...(options.webSessionTokenTtlMs !== undefined ? { tokenTtlMs: options.webSessionTokenTtlMs } : {}),
  });
  const takeoverSettings = options.pipelineTakeover ?? {};
  const instances = new PipelineInstances({
    bus: context.bus,
    logger,
    serviceName,
    instanceId: context.instanceId,
    settings: {
      ...(takeoverSettings.silentAfterMs !== undefined ? { silentAfterMs: takeoverSettings.silentAfterMs } : {}),
      ...(takeoverSettings.reconnectGraceMs !== undefined ? { reconnectGraceMs: takeoverSettings.reconnectGraceMs } : {}),
    },
  });
  const resumer = new SessionResumer({
    domain,
    bus: context.bus,
    logger,
    serviceName,
    instances,
    tools: options.tools ?? ((toolNames) => toolDefinitions(toolNames).filter((tool) => tools.isAvailable(tool.name))),
    apology: takeoverSettings.apology,
    startTimeoutMs: takeoverSettings.startTimeoutMs,
  });
  const watchdog = new PipelineWatchdog({
    domain,
    bus: context.bus,
    logger,
    serviceName,
    pendingEnds: tools.pendingEnds,
    giveBacks: sessions.giveBacks,
    resumer,
    ...options.pipelineWatchdog,
  });
  const takeover = new PipelineTakeover({
    domain,
    bus: context.bus,
    logger,
    serviceName,
    instances,
    handleLost: (aicall, instanceId, why) => watchdog.handleLost(aicall, instanceId, why),
    tickMs: takeoverSettings.tickMs,
    probeTimeoutMs: takeoverSettings.probeTimeoutMs,
  });
  const transcribes = new TranscribeService({ domain, bus: context.bus, logger, serviceName, ...options.transcribes });
  // Lost transcribers are noticed like lost pipelines (the same check interval and evidence).
  const { stopTimeoutMs: _stopTimeoutMs, ...transcriberChecks } = options.pipelineWatchdog ?? {};
  const transcriberWatchdog = new TranscriberWatchdog({ domain, bus: context.bus, logger, serviceName, transcribes, ...transcriberChecks });
  const summaries = new SummaryService({ domain, bus: context.bus, logger, serviceName, transcriptions: transcribes, ...options.summaries });
  const conversations = new ConversationService({ domain, bus: context.bus, logger, serviceName, ...options.conversations });
  const router = createAiManagerRpcRouter(domain, authenticator, { serviceName, instanceId: context.instanceId }, sessions, tools, transcribes, summaries);

  if (options.developmentCustomer && (await countCustomers(db)) === 0) {
    const customer = await createCustomer(db, { name: 'development', detail: 'created on first start', webhook_uri: '' }, domain.outbound, domain.billing);
    const keyFile = options.developmentCustomer.keyFile;
    if (keyFile) await writeFile(keyFile, `${customer.accesskey.key}\n`, { mode: 0o600 });
    logger.warn(
      { customerId: customer.id, accessKey: customer.accesskey.key, keyFile },
      `development customer created; access key: ${customer.accesskey.key}`,
    );
  }

  let subscriptions: Subscription[] = [];
  let stopWebhookWakeups: (() => void) | undefined;
  return {
    name: serviceName,
    rpcRouter: router,
    sessions,
    conversations,
    registerRoutes: (app) =>
      registerPublicApi(app, {
        domain,
        authenticator,
        limiter,
        authFailures,
        hub,
        revocations,
        adminToken: options.adminToken,
        sessions,
        webSessions,
        conversations,
        transcribes,
        summaries,
        ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
        mcp: { ...(options.flowManagerApiUrl ? { flowManagerApiUrl: options.flowManagerApiUrl } : {}) },
      }),
    async start() {
      subscriptions.push(await context.bus.serve(serviceName, router.handle, { instanceId: context.instanceId }));
      // Every instance sees every event, for its own WebSocket clients (and revocations).
      subscriptions.push(
        await context.bus.subscribe(serviceName, ['#'], async (event) => {
          if (!revocations.handle(event)) hub.deliver(event);
        }, {
          queue: `${serviceName}.websocket.${context.instanceId}`,
          temporary: true,
        }),
      );
      hub.start();
      await sessions.start();
      await transcribes.start();
      await summaries.start();
      await instances.start();
      watchdog.start();
      transcriberWatchdog.start();
      takeover.start();
      stopWebhookWakeups = events.onWebhooksQueued(() => dispatcher.wake());
      dispatcher.start();
      relay.start();
      await flowEvents.start();
      logger.info({ instanceId: context.instanceId }, 'serving requests');
    },
    async stop() {
      for (const subscription of subscriptions) await subscription.close();
      subscriptions = [];
      await takeover.stop();
      await watchdog.stop();
      await transcriberWatchdog.stop();
      await instances.stop();
      await webSessions.stopAll();
      await sessions.stop();
      await transcribes.stop();
      await summaries.stop();
      conversations.stop();
      stopWebhookWakeups?.();
      await dispatcher.stop();
      await relay.stop();
      await flowEvents.stop();
      hub.stop();
    },
  };
}
