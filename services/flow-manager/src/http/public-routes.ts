import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  accessKeyOf,
  accessKeySecuritySchemes,
  activeflowSchema,
  appError,
  callSchema,
  enforceRateLimit,
  flowFieldsSchema,
  flowSchema,
  keySecurity,
  listQuerySchema,
  listResponseSchema,
  numberFieldsSchema,
  numberSchema,
  routeResponses,
  type RateLimiter,
  type AuthFailureLimiter,
} from '@avp/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FlowManagerDb } from '../db/tables.ts';
import type { ActiveflowRunner } from '../domain/activeflows/activeflow-runner.ts';
import { findCustomerActiveflow, listActiveflows, toActiveflow } from '../domain/activeflows/activeflow-store.ts';
import { findCustomerCall, listCalls, toCall } from '../domain/calls/call-store.ts';
import type { CallEvents } from '../domain/calls/call-events.ts';
import { checkPlayActions } from '../domain/calls/media-url-guard.ts';
import type { DomainContext } from '../domain/context.ts';
import { checkActionReferences } from '../domain/flows/action-references.ts';
import { newInlineAiOwner, saveInlineAis } from '../domain/flows/inline-ais.ts';
import { checkedActions, createFlow, deleteFlow, getFlow, listFlows, updateFlow } from '../domain/flows/flow-service.ts';
import { receiveInboundMessage, inboundMessageSchema } from '../domain/messages/inbound-messages.ts';
import { notFound } from '../domain/not-found.ts';
import { createNumber, deleteNumber, getNumber, listNumbers, updateNumber } from '../domain/numbers/number-service.ts';
import type { Recordings } from '../domain/recordings/recordings.ts';
import type { Caller, KeyVerifier } from './key-verifier.ts';
import { outgoingCallRoutes } from './outgoing-call-routes.ts';
import { recordingRoutes } from './recording-routes.ts';
import type { ExternalMediaStreams } from '../media-streams/external-media-streams.ts';
import { externalMediaRoutes } from '../media-streams/external-media-routes.ts';
import {
  activeflowCreateSchema,
  flowManagerDocsPath,
  flowManagerValidatorCompiler,
  inboundMessageResultSchema,
  uuidParamsSchema as params,
} from './route-schemas.ts';

export interface PublicRouteDependencies {
  context: DomainContext;
  runner: ActiveflowRunner;
  callEvents: CallEvents;
  recordings: Recordings;
  verifier: KeyVerifier;
  /** The per-key rate limit, charged right after the key check like ai-manager's. */
  limiter: RateLimiter;
  /** Failed key checks per client address (absent: no limit). */
  authFailures?: AuthFailureLimiter;
  /** External media streams (`/v1.0/calls/{id}/external-media`); absent in tests that do not need them. */
  externalMedia?: ExternalMediaStreams;
}

const callers = new WeakMap<FastifyRequest, Caller>();

function callerOf(request: FastifyRequest): Caller {
  const caller = callers.get(request);
  if (!caller) throw appError('MISSING_CREDENTIALS');
  return caller;
}

/** The caller's own row with the id; none, or another customer's, is the 404 for `resource`. */
async function callersRow<Row>(
  db: FlowManagerDb,
  request: FastifyRequest,
  find: (db: FlowManagerDb, customerId: string, id: string) => Promise<Row | undefined>,
  id: string,
  resource: string,
): Promise<Row> {
  const row = await find(db, callerOf(request).customerId, id);
  if (!row) throw notFound(resource);
  return row;
}

const security = keySecurity;
const querystring = listQuerySchema;

/**
 * flow-manager's public API under /v1.0: flows, numbers, activeflows, calls, recordings
 * (recording-routes.ts) and inbound text messages. Every route needs an access key; another customer's resource is a 404. The
 * routes live in a scope of their own with the zod validator and serializer and an OpenAPI
 * document (UI at /v1.0/docs/flow-manager, JSON at /v1.0/docs/flow-manager/json, no key
 * needed), so they sit beside ai-manager's on one server in the one-process mode.
 */
export async function registerPublicRoutes(app: FastifyInstance, dependencies: PublicRouteDependencies): Promise<void> {
  await app.register(async (scope) => {
    scope.setValidatorCompiler(flowManagerValidatorCompiler);
    scope.setSerializerCompiler(serializerCompiler);
    await scope.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'AI voice platform: flow-manager',
          description:
            'Flows, numbers, activeflows, calls, recordings and inbound text messages. Authenticate with an access key: Authorization: Bearer <key>, ?accesskey=<key> or ?token=<key>. AIs, AIcalls, messages, summaries and knowledge bases are ai-manager\'s: see its document at /v1.0/docs.',
          version: '1.0.0',
        },
        components: { securitySchemes: { ...accessKeySecuritySchemes } },
      },
      transform: jsonSchemaTransform,
    });
    await scope.register(swaggerUi, { routePrefix: flowManagerDocsPath });
    await scope.register(async (api) => {
      api.addHook('onRequest', async (request, reply) => {
        const key = accessKeyOf(request);
        if (!key) throw appError('MISSING_CREDENTIALS');
        // A key this process has not accepted lately is checked only while the client's address is within its failed-check budget.
        if (!dependencies.verifier.isKnown?.(key)) dependencies.authFailures?.assertAllowed(request.ip, reply);
        const caller = await dependencies.verifier.verify(key).catch((error: unknown) => {
          dependencies.authFailures?.observe(request.ip, error);
          throw error;
        });
        enforceRateLimit(dependencies.limiter, caller.keyId, reply);
        callers.set(request, caller);
      });
      await api.register(publicRoutes(dependencies));
      await api.register(recordingRoutes(dependencies.recordings, (request) => callerOf(request).customerId));
      await api.register(outgoingCallRoutes(dependencies.context, dependencies.callEvents, (request) => callerOf(request).customerId));
      if (dependencies.externalMedia) await api.register(externalMediaRoutes(dependencies.externalMedia, (request) => callerOf(request).customerId));
    });
  });
}

function publicRoutes({ context, runner, callEvents }: PublicRouteDependencies): FastifyPluginAsyncZod {
  return async (api) => {
    // Flows.
    let tags = ['flows'];
    api.post('/v1.0/flows', {
      schema: {
        tags,
        summary: 'Create a flow',
        description:
          'Actions are checked (options by type, ids unique, references inside the flow); a bad one is a 400 naming its position and type. An ai_talk / ai / ai_task may give the AI\'s settings inline instead of an ai_id (the fields of POST /v1.0/ais but name and detail, same rules): ai-manager keeps them (503 when it cannot; nothing is saved), and the action shows them without the keys, with engine_key_set, fallback_engine_key_set and inline_ai_id (read-only).',
        security,
        body: flowFieldsSchema,
        response: routeResponses(flowSchema),
      },
      handler: async (request) => createFlow(context, callerOf(request).customerId, request.body),
    });
    api.get('/v1.0/flows', {
      schema: { tags, summary: 'List flows', security, querystring, response: routeResponses(listResponseSchema(flowSchema)) },
      handler: async (request) => listFlows(context, callerOf(request).customerId, request.query),
    });
    api.get('/v1.0/flows/:id', {
      schema: { tags, summary: 'Get a flow', security, params, response: routeResponses(flowSchema) },
      handler: async (request) => getFlow(context, callerOf(request).customerId, request.params.id),
    });
    api.put('/v1.0/flows/:id', {
      schema: {
        tags,
        summary: 'Replace a flow',
        description:
          'Replaces every field; fields left out take their defaults. Running activeflows keep the actions they started with. An inline AI action keeps its settings by PUT /v1.0/ais\'s rules, matched by the action id: an engine_key left out keeps the stored key, "" removes it.',
        security,
        params,
        body: flowFieldsSchema,
        response: routeResponses(flowSchema),
      },
      handler: async (request) => updateFlow(context, callerOf(request).customerId, request.params.id, request.body),
    });
    api.delete('/v1.0/flows/:id', {
      schema: { tags, summary: 'Delete a flow', description: 'Answers the deleted flow (tm_delete set).', security, params, response: routeResponses(flowSchema) },
      handler: async (request) => deleteFlow(context, callerOf(request).customerId, request.params.id),
    });

    // Numbers: which flow runs for calls and messages to a number.
    tags = ['numbers'];
    const numberDescription = 'call_flow_id runs for calls to the number, message_flow_id for inbound text messages; a number belongs to one customer.';
    api.post('/v1.0/numbers', {
      schema: { tags, summary: 'Create a number', description: numberDescription, security, body: numberFieldsSchema, response: routeResponses(numberSchema) },
      handler: async (request) => createNumber(context, callerOf(request).customerId, request.body),
    });
    api.get('/v1.0/numbers', {
      schema: { tags, summary: 'List numbers', security, querystring, response: routeResponses(listResponseSchema(numberSchema)) },
      handler: async (request) => listNumbers(context, callerOf(request).customerId, request.query),
    });
    api.get('/v1.0/numbers/:id', {
      schema: { tags, summary: 'Get a number', security, params, response: routeResponses(numberSchema) },
      handler: async (request) => getNumber(context, callerOf(request).customerId, request.params.id),
    });
    api.put('/v1.0/numbers/:id', {
      schema: { tags, summary: 'Replace a number', description: numberDescription, security, params, body: numberFieldsSchema, response: routeResponses(numberSchema) },
      handler: async (request) => updateNumber(context, callerOf(request).customerId, request.params.id, request.body),
    });
    api.delete('/v1.0/numbers/:id', {
      schema: { tags, summary: 'Delete a number', description: 'Answers the deleted number (tm_delete set).', security, params, response: routeResponses(numberSchema) },
      handler: async (request) => deleteNumber(context, callerOf(request).customerId, request.params.id),
    });

    // Activeflows.
    tags = ['activeflows'];
    api.post('/v1.0/activeflows', {
      schema: {
        tags,
        summary: 'Start an activeflow',
        description: 'Runs a flow of yours (flow_id) or the given actions, without a call (reference type `api`); actions that need a call fail.',
        security,
        body: activeflowCreateSchema,
        response: routeResponses(activeflowSchema),
      },
      handler: async (request) => {
        const body = request.body;
        const customerId = callerOf(request).customerId;
        if (body.flow_id) {
          return runner.startFlow({ customerId, flowId: body.flow_id, referenceType: 'api', referenceId: null, variables: body.variables });
        }
        const actions = checkedActions(body.actions ?? []);
        await checkPlayActions(context.outbound, actions);
        await checkActionReferences(context, customerId, actions);
        // Inline AI settings are saved in ai-manager first, owned by the activeflow to be (503 when it cannot: nothing starts).
        const owner = newInlineAiOwner('activeflow');
        const saved = await saveInlineAis(context, customerId, owner, actions);
        return runner.start({ id: owner.id, customerId, flowId: null, actions: saved, referenceType: 'api', referenceId: null, variables: body.variables });
      },
    });
    api.get('/v1.0/activeflows', {
      schema: { tags, summary: 'List activeflows', security, querystring, response: routeResponses(listResponseSchema(activeflowSchema)) },
      handler: async (request) => listActiveflows(context.db, callerOf(request).customerId, request.query),
    });
    api.get('/v1.0/activeflows/:id', {
      schema: { tags, summary: 'Get an activeflow', security, params, response: routeResponses(activeflowSchema) },
      handler: async (request) => toActiveflow(await callersRow(context.db, request, findCustomerActiveflow, request.params.id, 'Activeflow')),
    });
    api.post('/v1.0/activeflows/:id/stop', {
      schema: { tags, summary: 'Stop an activeflow', description: 'Ends it (end_reason "stopped through the API"); its call is hung up.', security, params, response: routeResponses(activeflowSchema) },
      handler: async (request) => {
        const id = request.params.id;
        await callersRow(context.db, request, findCustomerActiveflow, id, 'Activeflow');
        return runner.stop(id, 'stopped through the API');
      },
    });

    // Calls.
    tags = ['calls'];
    api.get('/v1.0/calls', {
      schema: { tags, summary: 'List calls', security, querystring, response: routeResponses(listResponseSchema(callSchema)) },
      handler: async (request) => listCalls(context.db, callerOf(request).customerId, request.query),
    });
    api.get('/v1.0/calls/:id', {
      schema: { tags, summary: 'Get a call', security, params, response: routeResponses(callSchema) },
      handler: async (request) => toCall(await callersRow(context.db, request, findCustomerCall, request.params.id, 'Call')),
    });
    api.post('/v1.0/calls/:id/hangup', {
      schema: { tags, summary: 'Hang up a call', description: 'Hangs up (reason normal) and ends its activeflow; a call that has ended is answered as it is.', security, params, response: routeResponses(callSchema) },
      handler: async (request) => {
        const row = await callersRow(context.db, request, findCustomerCall, request.params.id, 'Call');
        return callEvents.hangupCall(row.customer_id, row.id, 'normal');
      },
    });

    // Inbound text messages (an SMS/LINE gateway posts here).
    tags = ['conversation_messages'];
    api.post('/v1.0/conversation_messages', {
      schema: {
        tags,
        summary: 'Receive an inbound text message',
        description:
          'For an SMS/LINE gateway: runs the message flow of the destination number (one of yours) in a new activeflow (reference type `conversation`) with the voipbin.conversation_message.* and voipbin.conversation.* variables set. 202 with the message id and the activeflow.',
        security,
        body: inboundMessageSchema,
        response: routeResponses(inboundMessageResultSchema, 202),
      },
      handler: async (request, reply) => {
        const result = await receiveInboundMessage(context, runner, callerOf(request).customerId, request.body);
        return reply.code(202).send(result);
      },
    });
  };
}
