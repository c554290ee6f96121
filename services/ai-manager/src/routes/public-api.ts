import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { accessKeyOf, accessKeySecuritySchemes, appError, enforceRateLimit, responseSerializerCompiler, type AuthFailureLimiter, type RateLimiter } from '@avp/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySerializerCompiler } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { DomainContext } from '../domain/context.ts';
import type { Caller, KeyAuthenticator } from '../domain/customers/key-authenticator.ts';
import type { Revocations } from '../events/revocations.ts';
import type { WebsocketHub } from '../events/websocket-hub.ts';
import type { SessionService } from '../sessions/session-service.ts';
import type { ConversationService } from '../conversations/conversation-service.ts';
import type { SummaryService } from '../summaries/summary-service.ts';
import type { TranscribeService } from '../transcribes/transcribe-service.ts';
import { decorateCaller, setCaller } from '../http/caller.ts';
import { adminRoutes } from './admin-routes.ts';
import { consoleRoutes } from './console-routes.ts';
import { aiRoutes } from './ai-routes.ts';
import { aicallRoutes } from './aicall-routes.ts';
import { aimessageRoutes } from './aimessage-routes.ts';
import { aisummaryRoutes } from './aisummary-routes.ts';
import { transcribeRoutes } from './transcribe-routes.ts';
import { billingRoutes } from './billing-routes.ts';
import { conversationRoutes } from './conversation-routes.ts';
import { conversationWebhookRoutes } from './conversation-webhook-routes.ts';
import { customerRoutes } from './customer-routes.ts';
import { knowledgebaseRoutes } from './knowledgebase-routes.ts';
import { teamRoutes } from './team-routes.ts';
import { mcpRoutes, type McpRouteOptions } from './mcp-routes.ts';
import { websocketRoutes } from './websocket-routes.ts';
import { webSessionMediaRoutes, webSessionRoutes } from './web-session-routes.ts';
import type { WebSessions } from '../sessions/web-sessions.ts';

export interface PublicApiDependencies {
  domain: DomainContext;
  authenticator: KeyAuthenticator;
  limiter: RateLimiter;
  /** Failed key checks per client address (absent: no limit). */
  authFailures?: AuthFailureLimiter;
  hub: WebsocketHub;
  revocations: Revocations;
  adminToken: string | undefined;
  /** AI sessions (terminate stops the pipeline and gives the flow back). */
  sessions?: SessionService;
  /** SMS and LINE conversations (channels, their webhooks, conversations and messages). */
  conversations?: ConversationService;
  /** Live transcriptions of calls. */
  transcribes?: TranscribeService;
  /** AI summaries' creation (without it, `/v1.0/aisummaries` only lists, reads and deletes). */
  summaries?: SummaryService;
  /** PUBLIC_URL: how vendors reach this service (channels' webhook_url, Twilio's signed URL); default: the request's host. */
  publicUrl?: string;
  /** The MCP endpoint `/v1.0/mcp`: where its tools reach flow-manager's routes. */
  mcp?: McpRouteOptions;
  /** Web sessions (a browser's microphone): `POST /v1.0/web_sessions` and their media sockets. */
  webSessions?: WebSessions;
  /** Largest WebSocket message a client may send. */
  maxWebsocketMessageBytes?: number;
}

/**
 * Mounts ai-manager's public API on the platform's server in a scope of its own: the zod
 * validator and serializer, the OpenAPI document and its UI at /v1.0/docs, the admin API,
 * and the key-protected resources (key check, then per-key rate limit, before anything
 * else runs, so a bad key costs no body parsing). Request logs redact keys given in the
 * query string (the platform server does it for every route).
 */
export async function registerPublicApi(app: FastifyInstance, dependencies: PublicApiDependencies): Promise<void> {
  const { domain, authenticator, limiter, hub } = dependencies;
  await app.register(async (scope) => {
    scope.setValidatorCompiler(validatorCompiler);
    // Responses are written by schema-compiled writers (zod's check only where they cannot be).
    scope.setSerializerCompiler(responseSerializerCompiler(serializerCompiler as FastifySerializerCompiler<unknown>));
    await scope.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'AI voice platform: ai-manager',
          description:
            'AIs, AIcalls, messages, summaries and knowledge bases. Authenticate with an access key: Authorization: Bearer <key>, ?accesskey=<key> or ?token=<key>. Flows, numbers, activeflows, calls and inbound messages are flow-manager\'s: see its document at /v1.0/docs/flow-manager (JSON at /v1.0/docs/flow-manager/json).',
          version: '1.0.0',
        },
        components: {
          securitySchemes: {
            ...accessKeySecuritySchemes,
            adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
          },
        },
      },
      transform: jsonSchemaTransform,
    });
    await scope.register(swaggerUi, { routePrefix: '/v1.0/docs' });
    await scope.register(websocket, { options: { maxPayload: dependencies.maxWebsocketMessageBytes ?? 64 * 1024 } });

    await scope.register(adminRoutes(domain, dependencies.revocations, dependencies.adminToken));
    // The web console's static files (no key: its page asks for one, see console-routes.ts).
    await scope.register(consoleRoutes());
    // A web session's media sockets carry a one-time token of their own, not an access key.
    if (dependencies.webSessions) await scope.register(webSessionMediaRoutes(dependencies.webSessions));
    // Vendors' webhooks carry no access key: their signature authenticates them.
    if (dependencies.conversations) await scope.register(conversationWebhookRoutes(domain, dependencies.conversations, dependencies.publicUrl));
    await scope.register(async (keyed) => {
      decorateCaller(keyed);
      const admit = (request: FastifyRequest, reply: FastifyReply, caller: Caller) => {
        enforceRateLimit(limiter, caller.keyId, reply);
        setCaller(request, caller);
      };
      // A callback rather than an async hook: with the key's answer cached (nearly every
      // request) the check finishes without a promise.
      keyed.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
        const key = accessKeyOf(request);
        if (!key) throw appError('MISSING_CREDENTIALS', 'Send an access key: Authorization: Bearer <key>, ?accesskey= or ?token=.');
        const cached = authenticator.cachedCaller(key);
        if (cached) {
          admit(request, reply, cached);
          done();
          return;
        }
        // An unknown key: looked up only while the client's address is within its failed-check budget.
        dependencies.authFailures?.assertAllowed(request.ip, reply);
        authenticator.authenticate(key).then(
          (caller) => {
            let failure: Error | undefined;
            try {
              admit(request, reply, caller);
            } catch (error) {
              failure = error as Error;
            }
            done(failure);
          },
          (error: unknown) => {
            dependencies.authFailures?.observe(request.ip, error);
            done(error as Error);
          },
        );
      });
      await keyed.register(customerRoutes(domain));
      await keyed.register(aiRoutes(domain));
      await keyed.register(teamRoutes(domain));
      await keyed.register(aicallRoutes(domain, dependencies.sessions));
      await keyed.register(aimessageRoutes(domain, dependencies.sessions));
      await keyed.register(aisummaryRoutes(domain, dependencies.summaries));
      await keyed.register(knowledgebaseRoutes(domain));
      await keyed.register(billingRoutes(domain));
      if (dependencies.conversations) await keyed.register(conversationRoutes(domain, dependencies.conversations, dependencies.publicUrl));
      if (dependencies.transcribes) await keyed.register(transcribeRoutes(dependencies.transcribes));
      await keyed.register(websocketRoutes(hub));
      if (dependencies.webSessions) await keyed.register(webSessionRoutes(domain, dependencies.webSessions));
      await keyed.register(mcpRoutes(app, dependencies.mcp));
    });
  });
}
