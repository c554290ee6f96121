import { createRpcRouter, rpcCustomer, rpcReply, type RpcRouteContext, type RpcRouter } from '@avp/shared';
import { z } from 'zod';
import { summaryRequestSchema } from '../summaries/summary-request.ts';
import type { Summaries } from '../summaries/summaries.ts';
import { textTurnSchema, type TextTurns } from '../text/text-turns.ts';
import { transcriberStartSchema, type Transcribers } from '../transcribe/transcribers.ts';
import { pipelineStartSchema, type PipelineSessions } from './pipeline-sessions.ts';

/**
 * pipeline-manager's routes on the bus. `POST /v1/pipelines` is taken from the shared queue
 * by any process; the reply names the process (`instance_id`), and follow-ups for that
 * pipeline go to its own queue (`pipeline-manager.request.<instance id>`). A follow-up names
 * the customer it acts for (`rpcCustomer`): another customer's pipeline is a 404 like a
 * missing one.
 */
export function createPipelineRpcRouter(
  sessions: PipelineSessions,
  identity: { serviceName: string; instanceId: string },
  textTurns?: TextTurns,
  transcribers?: Transcribers,
  summaries?: Summaries,
): RpcRouter {
  /** The path's pipeline, checked to be the request's customer's; answers the data without the customer id. */
  const owned = (request: RpcRouteContext): { id: string; data: unknown } => {
    const { customerId, data } = rpcCustomer(request);
    const id = request.params.id!;
    sessions.assertOwner(id, customerId);
    return { id, data };
  };
  const router = createRpcRouter();
  // A text conversation's answer (SMS, LINE, API): any process takes it from the shared queue.
  if (textTurns) router.add('POST', '/v1/text_turns', async ({ data }) => textTurns.answer(textTurnSchema.parse(data)));
  // A summary of a transcription (shared queue, stateless): the request carries everything, for the named customer.
  if (summaries) router.add('POST', '/v1/summaries', async ({ data }) => summaries.write(summaryRequestSchema.parse(data)));
  if (transcribers) {
    // A call's direction transcribed (shared queue; flow-manager checks the call is the customer's).
    router.add('POST', '/v1/transcribers', async ({ data }) => rpcReply(201, await transcribers.start(transcriberStartSchema.parse(data))));
    router.add('GET', '/v1/transcribers', async () => ({ instance_id: identity.instanceId, result: transcribers.list() }));
    // On the instance's own queue, for the transcriber's own customer only.
    router.add('POST', '/v1/transcribers/:id/stop', async (request) => {
      const { customerId, data } = rpcCustomer(request);
      transcribers.assertOwner(request.params.id!, customerId);
      const body = z.object({ reason: z.string().max(500).default('stopped') }).parse(data);
      await transcribers.stop(request.params.id!, body.reason);
      return { stopped: true };
    });
  }
  return router
    .add('GET', '/v1/ping', async () => ({
      service: identity.serviceName,
      instance_id: identity.instanceId,
      pipelines: sessions.size,
      timestamp: new Date().toISOString(),
    }))
    .add('POST', '/v1/pipelines', async ({ data }) => rpcReply(201, await sessions.start(pipelineStartSchema.parse(data))))
    // Asked on this process's own queue: which pipelines it runs (ai-manager's liveness check).
    .add('GET', '/v1/pipelines', async () => ({ instance_id: identity.instanceId, result: sessions.list() }))
    .add('GET', '/v1/pipelines/:id', async (request) => sessions.describe(owned(request).id))
    .add('POST', '/v1/pipelines/:id/stop', async (request) => {
      const { id, data } = owned(request);
      const body = z.object({ reason: z.string().max(500).default('stopped'), pipeline_epoch: z.number().int().min(0).optional() }).parse(data);
      await sessions.stop(id, body.reason, body.pipeline_epoch);
      return { stopped: true };
    })
    // Ends a pipeline, first saying `say` (e.g. billing's goodbye); answers before it has ended.
    .add('POST', '/v1/pipelines/:id/end', async (request) => {
      const { id, data } = owned(request);
      const body = z.object({ reason: z.string().min(1).max(500).default('stop_service'), say: z.string().max(2000).optional() }).parse(data);
      sessions.end(id, body.reason, body.say);
      return rpcReply(202, {});
    })
    .add('POST', '/v1/pipelines/:id/messages', async (request) => {
      const { id, data } = owned(request);
      const body = z.object({ text: z.string().min(1).max(10_000) }).parse(data);
      sessions.sendText(id, body.text);
      return rpcReply(202, {});
    })
    .add('POST', '/v1/pipelines/:id/dtmf', async (request) => {
      const { id, data } = owned(request);
      const body = z.object({ digit: z.string().regex(/^[0-9*#A-D]$/) }).parse(data);
      sessions.dtmf(id, body.digit);
      return rpcReply(202, {});
    });
}
