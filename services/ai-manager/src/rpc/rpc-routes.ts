import {
  aicallStatuses,
  aimessageDirections,
  aimessageIntermediateSchema,
  aimessageLatencySchema,
  aimessageRoles,
  appError,
  billingUsageSchema,
  createRpcRouter,
  rpcCustomer,
  rpcReply,
  toAppError,
  toolCallSchema,
  type RpcRouter,
} from '@avp/shared';
import { z } from 'zod';
import { getNamedAi } from '../domain/ais/ai-service.ts';
import { changeAicallStatus, getAicall } from '../domain/aicalls/aicall-service.ts';
import { aicallOwnedBy } from '../domain/aicalls/aicall-repository.ts';
import { assertCurrentPipeline, assertCurrentTextTurn, pipelineEpochSchema, textTurnSchema } from '../domain/aicalls/pipeline-fence.ts';
import { addAicallStatesRoute } from './aicall-states-route.ts';
import { addInlineAiRoutes } from './inline-ai-routes.ts';
import { publishIntermediate, recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import type { DomainContext } from '../domain/context.ts';
import type { KeyAuthenticator } from '../domain/customers/key-authenticator.ts';
import { notFound } from '../domain/not-found.ts';
import { parseId } from '../http/ids.ts';
import { getTeam } from '../domain/teams/team-service.ts';
import { serviceStartSchema, type SessionService } from '../sessions/session-service.ts';
import { flowSummarySchema, type SummaryService } from '../summaries/summary-service.ts';
import { toolCallRequestSchema, type ToolExecutor } from '../tools/tool-executor.ts';
import { startTranscribeFromFlow, stopTranscribeFromFlow } from '../transcribes/transcribe-flow-actions.ts';
import { finishedTranscriberSchema, flowTranscribeSchema, reportedTranscriptSchema } from '../transcribes/transcribe-records.ts';
import type { TranscribeService } from '../transcribes/transcribe-service.ts';

/** Parses RPC data; a failure is a 400 with the catalog body, never a hidden 500. */
function parse<Schema extends z.ZodType>(schema: Schema, data: unknown): z.output<Schema> {
  const result = schema.safeParse(data);
  if (!result.success) throw toAppError(result.error);
  return result.data;
}

const messageSchema = z.strictObject({
  customer_id: z.uuid(),
  id: z.uuid().optional(),
  aicall_id: z.uuid(),
  role: z.enum(aimessageRoles),
  direction: z.enum(aimessageDirections),
  content: z.string(),
  tool_calls: z.array(toolCallSchema).optional(),
  tool_call_id: z.string().optional(),
  latency: aimessageLatencySchema.optional(),
  /** The pipeline's idempotency key: a repeated report stores nothing new (recordAimessage). */
  report_id: z.uuid().optional(),
  /** The reporting pipeline's epoch: a replaced pipeline's report is refused (pipeline-fence.ts). */
  pipeline_epoch: z.number().int().min(0).optional(),
});

/** How many keys of streamed pieces this process remembers (about a minute of 150 live calls). */
const recentPieceKeys = 10_000;

/**
 * ai-manager's routes on the bus (`ai-manager.request`), for the other services: key checks
 * for flow-manager's public API, AIcall status changes and messages from the pipeline.
 * Every route on an AIcall names the customer it acts for and finds only that customer's
 * AIcall: another customer's is a 404 exactly like a missing one.
 */
export function createAiManagerRpcRouter(
  domain: DomainContext,
  authenticator: KeyAuthenticator,
  identity: { serviceName: string; instanceId: string },
  sessions?: SessionService,
  tools?: ToolExecutor,
  transcribes?: TranscribeService,
  summaries?: SummaryService,
): RpcRouter {
  const router = createRpcRouter();
  // A transcriber's utterance, stored under the named customer's transcription only (404 otherwise).
  if (transcribes) {
    router.add('POST', '/v1/transcripts', async ({ data }) => rpcReply(201, await transcribes.record(parse(reportedTranscriptSchema, data))));
    // A recording's transcriber that heard the whole file (the named customer's transcription only).
    router.add('POST', '/v1/transcribers/finished', async ({ data }) => transcribes.transcriberFinished(parse(finishedTranscriberSchema, data)));
    // flow-manager's transcribe_start / transcribe_stop on the flow's own call (the call is checked under the customer).
    router.add('POST', '/v1/services/type/transcribe', async ({ data }) => startTranscribeFromFlow(transcribes, parse(flowTranscribeSchema, data)));
    router.add('POST', '/v1/services/type/transcribe_stop', async ({ data }) => stopTranscribeFromFlow(transcribes, parse(flowTranscribeSchema, data)));
  }
  // flow-manager's ai_summary: asks for the summary and answers at once (the flow goes on).
  if (summaries) router.add('POST', '/v1/services/type/summary', async ({ data }) => summaries.startFromFlow(parse(flowSummarySchema, data)));
  if (tools) {
    // The pipeline's tool calls: results (also failures) go back to the LLM.
    // A replaced pipeline (crash resumption) runs no tool: its epoch is refused first.
    router.add('POST', '/v1/aicalls/:id/tool_execute', async ({ params, data }) => {
      const aicallId = parseId(params.id!);
      await assertCurrentPipeline(domain.db, aicallId, parse(pipelineEpochSchema, data).pipeline_epoch);
      // A text answer a newer message superseded runs no tool either.
      await assertCurrentTextTurn(domain.db, aicallId, parse(textTurnSchema, data).text_turn_id);
      return tools.execute(aicallId, toolCallRequestSchema.parse(data));
    });
  }
  if (sessions) {
    // flow-manager's ai_talk: start the session and answer the actions the flow waits in.
    router.add('POST', '/v1/services/type/aicall', async ({ data }) => sessions.startFromFlow(serviceStartSchema.parse(data)));
    // ai_task: the flow waits in a block until the task's LLM has finished (or the task timed out).
    router.add('POST', '/v1/services/type/task', async ({ data }) => sessions.task.startFromFlow(serviceStartSchema.parse(data)));
  }
  router.add('GET', '/v1/ping', async () => ({
    service: identity.serviceName,
    instance_id: identity.instanceId,
    timestamp: new Date().toISOString(),
  }));
  router.add('POST', '/v1/accesskeys/verify', async ({ data }) => {
    const { key } = parse(z.object({ key: z.string().min(1) }), data);
    const caller = await authenticator.authenticate(key);
    return { customer_id: caller.customerId, accesskey_id: caller.keyId };
  });
  // flow-manager's check of the AI an action names: an AI of /v1.0/ais (an inline AI is a 404 like a missing one).
  router.add('GET', '/v1/ais/:id', async ({ params, query }) => {
    const customerId = parse(z.uuid(), query.get('customer_id'));
    return getNamedAi(domain, customerId, parseId(params.id!));
  });
  // flow-manager saving actions with an AI's settings inline: checked and stored as the owner's hidden AIs.
  addInlineAiRoutes(router, domain);
  // flow-manager's check of ai_talk / ai_task with a team: 404 for a missing team or another customer's.
  router.add('GET', '/v1/teams/:id', async ({ params, query }) => {
    const customerId = parse(z.uuid(), query.get('customer_id'));
    return getTeam(domain, customerId, parseId(params.id!));
  });
  router.add('GET', '/v1/aicalls/:id', async (request) => getAicall(domain, rpcCustomer(request).customerId, parseId(request.params.id!)));
  // pipeline-manager's liveness check: the status of all its pipelines' AIcalls at once.
  addAicallStatesRoute(router, domain.db);
  // With a report_id (the pipeline's), a status the AIcall already has is a repeat of that
  // report: answered with the AIcall as it is, no second event.
  router.add('POST', '/v1/aicalls/:id/status', async (request) => {
    const { customerId, data } = rpcCustomer(request);
    const { status, report_id, pipeline_epoch } = parse(z.object({ status: z.enum(aicallStatuses), report_id: z.uuid().optional(), ...pipelineEpochSchema.shape }), data);
    await assertCurrentPipeline(domain.db, parseId(request.params.id!), pipeline_epoch);
    return changeAicallStatus(domain, parseId(request.params.id!), status, customerId, { repeatable: report_id !== undefined });
  });
  router.add('POST', '/v1/aimessages', async ({ data }) => {
    const { aicall_id, customer_id, pipeline_epoch, ...message } = parse(messageSchema, data);
    await assertCurrentPipeline(domain.db, aicall_id, pipeline_epoch);
    return recordAimessage(domain, aicall_id.toLowerCase(), message, customer_id.toLowerCase());
  });
  // Streamed pieces are published, never stored: a repeated report_id is published once by
  // this process (a repeat reaching another instance is recognisable by the piece's id and sequence).
  const publishedPieces = new Set<string>();
  router.add('POST', '/v1/aimessages/intermediate', async ({ data }) => {
    const piece = parse(aimessageIntermediateSchema, data);
    const { report_id: reportId, pipeline_epoch } = parse(z.object({ report_id: z.uuid().optional(), ...pipelineEpochSchema.shape }), data);
    // Published on the named customer's topics: the AIcall must be theirs.
    if (!(await aicallOwnedBy(domain.db, piece.aicall_id.toLowerCase(), piece.customer_id.toLowerCase()))) throw notFound('AIcall');
    await assertCurrentPipeline(domain.db, piece.aicall_id, pipeline_epoch);
    if (reportId && publishedPieces.has(reportId)) return rpcReply(202, {});
    await publishIntermediate(domain, piece);
    if (reportId) {
      publishedPieces.add(reportId);
      if (publishedPieces.size > recentPieceKeys) publishedPieces.delete(publishedPieces.values().next().value!);
    }
    return rpcReply(202, {});
  });
  // The pipeline's usage events: one ledger entry per usage id (201 first time, 200 with the
  // same entry on a replay); a charge that leaves the balance below the cutoff ends the session.
  router.add('POST', '/v1/usages', async ({ data }) => {
    const billing = domain.billing;
    if (!billing) throw appError('SERVICE_UNAVAILABLE', 'Billing is not configured.');
    const usage = parse(billingUsageSchema, data);
    // A usage is the named customer's, for one of their AIcalls (also one deleted since: the
    // session was still used); it cannot be charged to, or end, another customer's session.
    if (usage.aicall_id && !(await aicallOwnedBy(domain.db, usage.aicall_id.toLowerCase(), usage.customer_id.toLowerCase(), { deleted: true }))) {
      throw notFound('AIcall');
    }
    // Not fenced by the pipeline's epoch, unlike its other reports: usage is provider work that
    // was done and paid for, also by a pipeline that was replaced while it stalled; billing it
    // once (by its id) keeps the ledger complete.
    parse(pipelineEpochSchema, data);
    const recorded = await billing.recordUsage(usage);
    const aicallId = recorded.entry.aicall_id;
    if (recorded.exhausted && aicallId && sessions) {
      // Not awaited: the pipeline reports usage in order and would wait for its own goodbye.
      void sessions
        .endForBalance(recorded.entry.customer_id, aicallId, billing.settings.goodbyeText)
        .catch((error: unknown) => domain.logger.warn({ err: error, aicallId }, 'could not end a session whose balance ran out'));
    }
    return rpcReply(recorded.created ? 201 : 200, recorded.entry);
  });
  return router;
}
