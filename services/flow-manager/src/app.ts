import {
  migrateToLatest,
  pushedServiceSchema,
  rpcCall,
  type Service,
  type ServiceContext,
  type Subscription,
} from '@avp/shared';
import type { AriConnection } from './ari/ari-client.ts';
import { AriTelephony } from './ari/ari-telephony.ts';
import { EspeakSpeechRenderer, MediaStore } from './ari/speech-media.ts';
import { listLiveCalls } from './domain/calls/call-store.ts';
import { migrations } from './db/migrations.ts';
import type { FlowManagerTables } from './db/tables.ts';
import { ActiveflowRunner, type ServiceStarter } from './domain/activeflows/activeflow-runner.ts';
import type { CallControl } from './domain/calls/call-control.ts';
import { CallEvents } from './domain/calls/call-events.ts';
import { UnavailableCallControl } from './domain/calls/unavailable-call-control.ts';
import { createDomainContext } from './domain/context.ts';
import { RpcKeyVerifier, type KeyVerifier } from './http/key-verifier.ts';
import { registerPublicRoutes } from './http/public-routes.ts';
import { createFlowManagerRpcRouter } from './rpc/rpc-routes.ts';

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
}

export interface FlowManagerOptions {
  /** Asterisk's ARI; without it (and without `callControl`) call actions fail clearly. */
  ari?: AriSettings;
  /** How calls are controlled (tests); overrides `ari`. */
  callControl?: CallControl;
  /** How `ai_talk` / `ai_task` / `ai_summary` start their service; default: ai-manager over RPC. */
  serviceStarter?: ServiceStarter;
  /** How access keys are checked; default: ai-manager over RPC, cached. */
  keyVerifier?: KeyVerifier;
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
}

/** Builds flow-manager from its dependencies and brings its schema up to date. */
export async function createFlowManager(context: ServiceContext, options: FlowManagerOptions = {}): Promise<FlowManager> {
  const logger = context.logger.child({ component: serviceName });
  await migrateToLatest(context.database, { schema: databaseSchema, migrations, logger });
  const db = context.database.forSchema<FlowManagerTables>(databaseSchema);
  const media = options.ari ? new MediaStore(options.ari.mediaBaseUrl) : undefined;
  const telephony =
    options.ari && !options.callControl
      ? new AriTelephony({
          connection: options.ari.connection,
          logger,
          speech: new EspeakSpeechRenderer(media!),
          telDialTemplate: options.ari.telDialTemplate,
          liveChannels: async () => (await listLiveCalls(db)).map((call) => call.channel_id),
        })
      : undefined;
  const callControl = options.callControl ?? telephony ?? new UnavailableCallControl();
  const domain = createDomainContext(db, context.bus, logger);
  const runner = new ActiveflowRunner(domain, callControl, options.serviceStarter ?? rpcServiceStarter(context));
  const callEvents = new CallEvents(domain, runner, callControl);
  const router = createFlowManagerRpcRouter(domain, runner, callEvents, { serviceName, instanceId: context.instanceId });
  const verifier = options.keyVerifier ?? new RpcKeyVerifier(context.bus);

  let server: Subscription | undefined;
  return {
    name: serviceName,
    runner,
    callEvents,
    telephony,
    async registerRoutes(app) {
      media?.registerRoutes(app);
      await registerPublicRoutes(app, { context: domain, runner, callEvents, verifier });
    },
    async start() {
      server = await context.bus.serve(serviceName, router.handle, { instanceId: context.instanceId });
      logger.info({ instanceId: context.instanceId }, 'serving requests');
      if (telephony) {
        await telephony.start(callEvents);
        logger.info({ ari: options.ari!.connection.url, app: options.ari!.connection.app }, 'stasis app connected');
      }
    },
    async stop() {
      await telephony?.stop();
      await server?.close();
      server = undefined;
      await runner.idle();
    },
  };
}
