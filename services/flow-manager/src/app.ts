import {
  credentialEventTypes,
  defaultRateLimit,
  migrateToLatest,
  OutboundPolicy,
  pushedServiceSchema,
  RateLimiter,
  authFailureLimiter,
  revocationOf,
  rpcCall,
  type RateLimitSettings,
  type RpcRouter,
  type Service,
  type ServiceContext,
  type Subscription,
} from '@avp/shared';
import type { AriConnection } from './ari/ari-client.ts';
import { AriTelephony } from './ari/ari-telephony.ts';
import { EspeakSpeechRenderer, MediaStore } from './ari/speech-media.ts';
import { migrations } from './db/migrations.ts';
import type { FlowManagerTables } from './db/tables.ts';
import { ActiveflowRunner, type ServiceStarter } from './domain/activeflows/activeflow-runner.ts';
import type { CallControl } from './domain/calls/call-control.ts';
import { CallEvents } from './domain/calls/call-events.ts';
import { MediaUrlGuard } from './domain/calls/media-url-guard.ts';
import { databaseTelephonyRecords } from './domain/calls/telephony-records.ts';
import { UnavailableCallControl } from './domain/calls/unavailable-call-control.ts';
import { createDomainContext } from './domain/context.ts';
import { defaultRecordingDirectory, LocalRecordingStorage, type RecordingStorage } from './domain/recordings/recording-storage.ts';
import { Recordings } from './domain/recordings/recordings.ts';
import { RpcKeyVerifier, type KeyVerifier } from './http/key-verifier.ts';
import { registerPublicRoutes } from './http/public-routes.ts';
import { createFlowManagerRpcRouter } from './rpc/rpc-routes.ts';
import { rpcAiLookup, type AiLookup } from './domain/flows/action-references.ts';
import { registerDialInSocket } from './media-streams/dial-in-socket.ts';
import { ExternalMediaStreams, type ExternalMediaStreamsOptions } from './media-streams/external-media-streams.ts';

/** The service's name: its bus queues are `flow-manager.request` and `flow-manager.event`. */
export const serviceName = 'flow-manager';

/** The PostgreSQL schema that holds this service's tables. */
export const databaseSchema = 'flow_manager';

/** Where Asterisk is and how it reaches us back. */
export interface AriSettings {
  connection: AriConnection;
  /**
   * The base URL Asterisk fetches `talk` audio from (this server's `/media/...`); a function
   * when it is known only once the server listens (port 0).
   */
  mediaBaseUrl: string | (() => string);
  /** Dial string for `connect` to a phone number, `{target}` replaced (default `PJSIP/{target}`). */
  telDialTemplate?: string;
  /**
   * How long `start` waits for the first ARI connection before going on without it (default
   * 3 s); ARI is retried in the background for as long as it takes either way.
   */
  startWaitMs?: number;
}

export interface FlowManagerOptions {
  /** Asterisk's ARI; without it (and without `callControl`) call actions fail clearly. */
  ari?: AriSettings;
  /** How calls are controlled (tests); overrides `ari`. */
  callControl?: CallControl;
  /** Whether an AI is the customer's, for the check of a flow's actions when it is saved; default: ai-manager over RPC. */
  aiLookup?: AiLookup;
  /** How `ai_talk` / `ai_task` / `ai_summary` start their service; default: ai-manager over RPC. */
  serviceStarter?: ServiceStarter;
  /** How access keys are checked; default: ai-manager over RPC, cached. */
  keyVerifier?: KeyVerifier;
  /** Per access key, like ai-manager's; `perSecond: 0` turns limiting off (default 20 a second, bursts of 100). */
  rateLimit?: RateLimitSettings;
  /** Which media URLs `play` may have Asterisk fetch; default: public addresses only. */
  outbound?: OutboundPolicy;
  /** Where recording files go; default a directory under the OS temp dir. */
  recordingStorage?: RecordingStorage;
  /** Timeouts of external media streams (tests). */
  externalMedia?: Pick<ExternalMediaStreamsOptions, 'connectTimeoutMs' | 'dialInTimeoutMs'>;
}

/** Starts AI services through ai-manager's RPC routes `POST /v1/services/type/<kind>`. */
export function rpcServiceStarter(context: ServiceContext): ServiceStarter {
  return {
    async start(kind, body) {
      const reply = await rpcCall(context.bus, 'ai-manager', 'POST', `/v1/services/type/${kind}`, body, {
        timeoutMs: kind === 'summary' ? 60_000 : 30_000,
        publisher: serviceName,
      });
      return pushedServiceSchema.parse(reply);
    },
  };
}

/** The parts of a running flow-manager, for the telephony side and for tests. */
export interface FlowManager extends Service {
  runner: ActiveflowRunner;
  callEvents: CallEvents;
  /** The ARI side, when configured. */
  telephony: AriTelephony | undefined;
  /** The bus routes it serves (tests enumerate them to check every one for tenant isolation). */
  rpcRouter: RpcRouter;
  recordings: Recordings;
  /** External media streams to third-party engines. */
  externalMedia: ExternalMediaStreams;
}

/** Builds flow-manager from its dependencies and brings its schema up to date. */
export async function createFlowManager(context: ServiceContext, options: FlowManagerOptions = {}): Promise<FlowManager> {
  const logger = context.logger.child({ component: serviceName });
  await migrateToLatest(context.database, { schema: databaseSchema, migrations, logger });
  const db = context.database.forSchema<FlowManagerTables>(databaseSchema);
  const outbound = options.outbound ?? new OutboundPolicy();
  const domain = createDomainContext(db, context.bus, logger, outbound, options.aiLookup ?? rpcAiLookup(context.bus, serviceName));
  const media = options.ari ? new MediaStore(options.ari.mediaBaseUrl) : undefined;
  const telephony =
    options.ari && !options.callControl
      ? new AriTelephony({
          connection: options.ari.connection,
          logger,
          speech: new EspeakSpeechRenderer(media!),
          telDialTemplate: options.ari.telDialTemplate,
          records: databaseTelephonyRecords(domain),
        })
      : undefined;
  const callControl = new MediaUrlGuard(options.callControl ?? telephony ?? new UnavailableCallControl(), outbound);
  const recordings = new Recordings(domain, callControl, options.recordingStorage ?? new LocalRecordingStorage(defaultRecordingDirectory()));
  const mediaBaseUrl = options.ari?.mediaBaseUrl;
  const externalMedia = new ExternalMediaStreams(domain, callControl, {
    hangupCall: (customerId, callId) => callEvents.hangupCall(customerId, callId, 'normal'),
    reportUsage: async (usage) => {
      await rpcCall(context.bus, 'ai-manager', 'POST', '/v1/usages', usage, { timeoutMs: 10_000, publisher: serviceName });
    },
    flowPublicBase: () => (typeof mediaBaseUrl === 'function' ? mediaBaseUrl() : (mediaBaseUrl ?? 'http://127.0.0.1')),
    ...options.externalMedia,
  });
  const runner = new ActiveflowRunner(domain, callControl, options.serviceStarter ?? rpcServiceStarter(context), { recordings, externalMedia });
  const callEvents: CallEvents = new CallEvents(domain, runner, callControl);
  const router = createFlowManagerRpcRouter(domain, runner, callEvents, recordings, { serviceName, instanceId: context.instanceId });
  const verifier = options.keyVerifier ?? new RpcKeyVerifier(context.bus);
  const rateLimit = options.rateLimit ?? defaultRateLimit;
  const limiter = new RateLimiter(rateLimit.perSecond, rateLimit.burst);
  const authFailures = authFailureLimiter(rateLimit);

  let server: Subscription | undefined;
  let revocations: Subscription | undefined;
  let streamEvents: Subscription | undefined;
  let telephonyStarted: Promise<void> | undefined;
  let stopping = false;
  return {
    name: serviceName,
    runner,
    callEvents,
    telephony,
    rpcRouter: router,
    recordings,
    externalMedia,
    // Not ready while the Stasis app is not connected: calls cannot reach this process then.
    readinessChecks: telephony
      ? {
          ari: () => {
            if (!telephony.isConnected()) throw new Error(`not connected to ARI at ${options.ari!.connection.url}; retrying`);
            return true;
          },
        }
      : {},
    async registerRoutes(app) {
      media?.registerRoutes(app);
      registerDialInSocket(app, externalMedia);
      await registerPublicRoutes(app, { context: domain, runner, callEvents, recordings, verifier, limiter, authFailures, externalMedia });
    },
    async start() {
      server = await context.bus.serve(serviceName, router.handle, { instanceId: context.instanceId });
      // Every instance drops its cached lookups of a revoked key at once.
      revocations = await context.bus.subscribe(
        'ai-manager',
        [...credentialEventTypes],
        async (event) => {
          const revocation = revocationOf(event);
          if (revocation) verifier.forget?.(revocation);
        },
        { queue: `${serviceName}.revocations.${context.instanceId}`, temporary: true },
      );
      // The caller's DTMF and hang-up reach the external media streams this process runs.
      streamEvents = await context.bus.subscribe(
        serviceName,
        ['call_dtmf_received', 'call_hangup'],
        async (event) => {
          const data = event.data as { call_id?: string; id?: string; digit?: string };
          if (event.type === 'call_dtmf_received' && data.call_id && data.digit) externalMedia.dtmf(data.call_id, data.digit);
          if (event.type === 'call_hangup' && data.id) await externalMedia.callEnded(data.id);
        },
        { queue: `${serviceName}.external-media.${context.instanceId}`, temporary: true },
      );
      logger.info({ instanceId: context.instanceId }, 'serving requests');
      // Outgoing calls still ringing from before a restart: their ring deadlines are armed again.
      await callEvents.outgoing.resume().catch((error: unknown) => logger.error({ err: error }, 'could not resume the ringing outgoing calls'));
      // Releases of inline AIs ai-manager did not take, stored by any instance: tried again as they fall due.
      runner.inlineAis.start();
      if (telephony) {
        // Asterisk may come up after flow-manager (or be restarting): the API and the bus are
        // served meanwhile and /readyz names ARI as failing. A short wait keeps a process
        // started next to a running Asterisk from being started before its Stasis app is.
        const { url, app } = options.ari!.connection;
        telephonyStarted = telephony.start(callEvents, recordings).then(
          () => logger.info({ ari: url, app }, 'stasis app connected'),
          (error: unknown) => {
            if (!stopping) logger.error({ err: error, ari: url }, 'starting the stasis app failed');
          },
        );
        await settledOrAfter(telephonyStarted, options.ari!.startWaitMs ?? 3000);
        if (!telephony.isConnected()) logger.warn({ ari: url, app }, 'going on without ARI: the stasis app connects once Asterisk answers (/readyz fails on ari until then)');
      }
    },
    async stop() {
      stopping = true;
      await streamEvents?.close();
      streamEvents = undefined;
      await externalMedia.stopAll();
      await telephony?.stop();
      await telephonyStarted;
      await server?.close();
      server = undefined;
      await revocations?.close();
      revocations = undefined;
      await runner.idle();
      await runner.inlineAis.stop();
    },
  };
}

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
function settledOrAfter(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
