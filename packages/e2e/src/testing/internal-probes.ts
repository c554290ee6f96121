import { randomUUID } from 'node:crypto';
import type { RpcMethod } from '@avp/shared';
import type { Tenant } from './tenants.ts';

export type InternalService = 'ai-manager' | 'flow-manager' | 'pipeline-manager';

/** One bus request naming the prober as its customer and the victim's resource. */
export interface InternalProbe {
  service: InternalService;
  /** `METHOD /pattern` as the service's router has it. */
  route: string;
  method: RpcMethod;
  uri: string;
  data?: Record<string, unknown>;
  /** A request on a pipeline goes to the queue of the process that runs it. */
  instanceId?: string;
  /**
   * `not_found`: a 404; `tool_refused`: the LLM is told the AIcall does not exist (tools answer results, never errors);
   * `no_service`: a flow action that never fails its flow answers that it started or stopped nothing (`id: ''`), or a 404.
   */
  expect: 'not_found' | 'tool_refused' | 'no_service';
}

/**
 * Routes that act on no existing resource of a customer, so no customer id is checked: health,
 * the key check, creations for the customer named in the body (which check every id they are
 * given), and the list a pipeline-manager process gives ai-manager's watchdog. Every other
 * route must be in `internalProbes`: the sweep fails on a route it does not know.
 */
export const serviceRoutes: Record<InternalService, string[]> = {
  'ai-manager': [
    'GET /v1/ping',
    'POST /v1/accesskeys/verify',
    // Statuses of many AIcalls at once (pipeline-manager's liveness check): each is matched on
    // id and the customer named with it, and another customer's answers null like a missing one.
    'POST /v1/aicalls/states',
    // Saves the inline AI settings of an owner's actions (flow-manager, when it saves a flow) for
    // the customer named in the body: every row is keyed by that customer, so another customer's
    // owner id reaches none of theirs (ai-manager's inline AI suite and e2e inline-ai test that).
    'PUT /v1/inline_ais',
    // Releases inline AIs whose activeflow or outgoing calls ended (flow-manager): only the named
    // customer's rows are marked or deleted; another customer's ids are skipped and the answer
    // counts none (ai-manager's inline AI suite tests that).
    'POST /v1/inline_ais/release',
  ],
  'flow-manager': ['GET /v1/ping', 'POST /v1/bridges'],
  'pipeline-manager': [
    'GET /v1/ping',
    'GET /v1/pipelines',
    // The process's own transcribers (id, transcribe, call, direction): an instance listing like `GET /v1/pipelines`, for ai-manager and operators.
    'GET /v1/transcribers',
    // Writes a summary from what the request carries (transcripts, variables, engine): it reads
    // and changes no stored resource; its LLM tokens are billed to the named customer.
    'POST /v1/summaries',
  ],
};

/** Every bus route on a customer's resource, asked by `prober` about `victim`'s. */
export function internalProbes(victim: Tenant, prober: Tenant, pipelineInstance: string): InternalProbe[] {
  const { ids } = victim;
  const customer_id = prober.customerId;
  const query = `customer_id=${customer_id}`;
  const probe = (service: InternalService, method: RpcMethod, pattern: string, uri: string, data?: Record<string, unknown>): InternalProbe => ({
    service,
    route: `${method} ${pattern}`,
    method,
    uri: method === 'GET' ? `${uri}?${query}` : uri,
    ...(method === 'GET' ? {} : { data: { ...data, customer_id } }),
    expect: 'not_found',
  });
  const ai = (method: RpcMethod, pattern: string, uri: string, data?: Record<string, unknown>) => probe('ai-manager', method, pattern, uri, data);
  const flow = (method: RpcMethod, pattern: string, uri: string, data?: Record<string, unknown>) => probe('flow-manager', method, pattern, uri, data);
  const pipeline = (method: RpcMethod, pattern: string, uri: string, data?: Record<string, unknown>) => ({
    ...probe('pipeline-manager', method, pattern, uri, data),
    instanceId: pipelineInstance,
  });
  return [
    { ...ai('POST', '/v1/aicalls/:id/tool_execute', `/v1/aicalls/${ids.aicall}/tool_execute`, { id: 'probe', name: 'get_variables', arguments: '{}' }), expect: 'tool_refused' },
    // ai_talk naming another customer's activeflow and call, with the prober's own AI.
    ai('POST', '/v1/services/type/aicall', '/v1/services/type/aicall', {
      activeflow_id: ids.activeflow,
      assistance_type: 'ai',
      assistance_id: prober.ids.ai,
      reference_type: 'call',
      reference_id: ids.call,
    }),
    // ai_task on another customer's activeflow (the prober's AI), and on the prober's own activeflow with the victim's AI.
    ai('POST', '/v1/services/type/task', '/v1/services/type/task', { activeflow_id: ids.activeflow, assistance_type: 'ai', assistance_id: prober.ids.ai, reference_type: 'api' }),
    {
      ...ai('POST', '/v1/services/type/task', '/v1/services/type/task', { activeflow_id: prober.ids.activeflow, assistance_type: 'ai', assistance_id: ids.ai, reference_type: 'api' }),
      route: 'POST /v1/services/type/task (victim AI)',
    },
    ai('GET', '/v1/ais/:id', `/v1/ais/${ids.ai}`),
    ai('GET', '/v1/teams/:id', `/v1/teams/${ids.team}`),
    ai('GET', '/v1/aicalls/:id', `/v1/aicalls/${ids.aicall}`),
    ai('POST', '/v1/aicalls/:id/status', `/v1/aicalls/${ids.aicall}/status`, { status: 'terminating' }),
    ai('POST', '/v1/aimessages', '/v1/aimessages', { aicall_id: ids.aicall, role: 'assistant', direction: 'incoming', content: 'probe' }),
    ai('POST', '/v1/aimessages/intermediate', '/v1/aimessages/intermediate', {
      id: randomUUID(),
      aicall_id: ids.aicall,
      activeflow_id: null,
      active_ai_id: null,
      role: 'assistant',
      content: 'probe',
      direction: 'incoming',
      sequence: 1,
    }),
    ai('POST', '/v1/usages', '/v1/usages', { id: randomUUID(), aicall_id: ids.aicall, kind: 'llm', provider: 'probe', input_tokens: 1e9 }),
    // transcribe_start / transcribe_stop of the prober's flow naming the victim's call (and activeflow):
    // nothing may start on it, and the victim's transcription must go on (the sweep checks it runs).
    {
      ...ai('POST', '/v1/services/type/transcribe', '/v1/services/type/transcribe', { activeflow_id: ids.activeflow, reference_id: ids.call, direction: 'both' }),
      expect: 'no_service',
    },
    // ai_summary naming the victim's activeflow and call, and in the prober's own flow the victim's transcription.
    ai('POST', '/v1/services/type/summary', '/v1/services/type/summary', { activeflow_id: ids.activeflow, reference_type: 'call', reference_id: ids.call }),
    ai('POST', '/v1/services/type/summary', '/v1/services/type/summary', { activeflow_id: prober.ids.activeflow, reference_type: 'transcribe', reference_id: ids.transcribe }),
    { ...ai('POST', '/v1/services/type/transcribe_stop', '/v1/services/type/transcribe_stop', { activeflow_id: ids.activeflow, reference_id: ids.call }), expect: 'no_service' },
    // A transcriber's utterance stored into the victim's transcription.
    ai('POST', '/v1/transcripts', '/v1/transcripts', { transcribe_id: ids.transcribe, direction: 'in', text: 'probe', offset_ms: 0 }),
    // A transcriber claiming to have heard all of the victim's transcription (which must go on).
    ai('POST', '/v1/transcribers/finished', '/v1/transcribers/finished', { transcribe_id: ids.transcribe, transcriber_id: victim.transcribers[0]?.id ?? 'probe' }),

    flow('POST', '/v1/activeflows', '/v1/activeflows', { flow_id: ids.flow, reference_type: 'api' }),
    flow('GET', '/v1/activeflows/:id', `/v1/activeflows/${ids.activeflow}`),
    flow('POST', '/v1/activeflows/:id/service_stop', `/v1/activeflows/${ids.activeflow}/service_stop`, { service_id: ids.aicall }),
    flow('POST', '/v1/activeflows/:id/continue', `/v1/activeflows/${ids.activeflow}/continue`, { current_action_id: randomUUID() }),
    flow('POST', '/v1/activeflows/:id/stop', `/v1/activeflows/${ids.activeflow}/stop`, { reason: 'probe' }),
    flow('POST', '/v1/activeflows/:id/add_actions', `/v1/activeflows/${ids.activeflow}/add_actions`, { actions: [{ type: 'hangup' }] }),
    flow('GET', '/v1/variables/:id', `/v1/variables/${ids.activeflow}`),
    flow('POST', '/v1/variables/:id/variables', `/v1/variables/${ids.activeflow}/variables`, { variables: { secret: 'overwritten' } }),
    flow('POST', '/v1/variables/:id/substitute', `/v1/variables/${ids.activeflow}/substitute`, { text: '${secret}' }),
    flow('GET', '/v1/calls/:id', `/v1/calls/${ids.call}`),
    flow('POST', '/v1/calls/:id/answer', `/v1/calls/${ids.call}/answer`),
    flow('POST', '/v1/calls/:id/media_stop', `/v1/calls/${ids.call}/media_stop`),
    flow('POST', '/v1/calls/:id/external_media', `/v1/calls/${ids.call}/external_media`, { transport: 'rtp', external_host: '127.0.0.1:9', format: 'ulaw' }),
    flow('POST', '/v1/calls/:id/external_media/attach', `/v1/calls/${ids.call}/external_media/attach`),
    flow('DELETE', '/v1/calls/:id/external_media', `/v1/calls/${ids.call}/external_media`),
    // Per-direction media legs (live transcription): a snoop on the victim's call would carry its audio away.
    flow('POST', '/v1/calls/:id/snoop_media', `/v1/calls/${ids.call}/snoop_media`, { direction: 'in', external_host: '127.0.0.1:9', format: 'ulaw' }),
    flow('DELETE', '/v1/calls/:id/snoop_media/:channelId', `/v1/calls/${ids.call}/snoop_media/snoop-${randomUUID()}-rtp`),
    // A recording's record and audio (what transcribing a recording reads).
    flow('GET', '/v1/recordings/:id', `/v1/recordings/${ids.recording}`),
    flow('GET', '/v1/recordings/:id/audio', `/v1/recordings/${ids.recording}/audio`),
    flow('POST', '/v1/calls/:id/play', `/v1/calls/${ids.call}/play`, { stream_urls: ['tone:440'] }),
    flow('POST', '/v1/calls/:id/connect', `/v1/calls/${ids.call}/connect`, { destinations: [{ type: 'endpoint', target: 'PJSIP/probe' }] }),
    flow('POST', '/v1/calls/:id/hangup', `/v1/calls/${ids.call}/hangup`, { reason: 'normal' }),
    flow('POST', '/v1/bridges/:id/calls', `/v1/bridges/${ids.bridge}/calls`, { call_ids: [prober.ids.call] }),
    // The prober's own bridge cannot take the victim's call either.
    { ...flow('POST', '/v1/bridges/:id/calls', `/v1/bridges/${prober.ids.bridge}/calls`, { call_ids: [ids.call] }), route: 'POST /v1/bridges/:id/calls (own bridge)' },
    flow('DELETE', '/v1/bridges/:id/calls', `/v1/bridges/${ids.bridge}/calls`, { call_ids: [prober.ids.call] }),
    flow('DELETE', '/v1/bridges/:id', `/v1/bridges/${ids.bridge}`),
    // Whether a flow is the customer's (ai-manager's check of a channel's flow_id).
    flow('GET', '/v1/flows/:id', `/v1/flows/${ids.flow}`),
    // A message flow run for the prober: the victim's flow as the channel's flow_id ...
    flow('POST', '/v1/conversation_messages', '/v1/conversation_messages', {
      conversation_id: ids.conversation,
      message_id: ids.conversation_message,
      source: victim.contact,
      destination: victim.number,
      text: 'probe',
      flow_id: ids.flow,
    }),
    // ... or none, so the destination number's message flow would run: the victim's number is
    // "no number of yours". The victim's message id is asked too: a message seen before
    // answers the activeflow it started, looked up under the prober, who has none.
    {
      ...flow('POST', '/v1/conversation_messages', '/v1/conversation_messages', {
        conversation_id: ids.conversation,
        message_id: ids.conversation_message,
        source: victim.contact,
        destination: victim.number,
        text: 'probe',
      }),
      route: 'POST /v1/conversation_messages (number)',
    },

    // A text answer for the victim's AIcall (its engine key and tools would act for them).
    probe('pipeline-manager', 'POST', '/v1/text_turns', '/v1/text_turns', {
      aicall_id: ids.aicall,
      turn_id: randomUUID(),
      ai: { engine_model: 'local.scripted' },
      messages: [{ role: 'user', content: 'probe' }],
    }),
    // Starting a pipeline on the victim's call (flow-manager refuses its media) ...
    pipeline('POST', '/v1/pipelines', '/v1/pipelines', { aicall_id: randomUUID(), call_id: ids.call, ai: { engine_model: 'local.scripted', tts_type: 'local' } }),
    // ... and every request on the victim's running pipeline.
    pipeline('GET', '/v1/pipelines/:id', `/v1/pipelines/${ids.aicall}`),
    pipeline('POST', '/v1/pipelines/:id/stop', `/v1/pipelines/${ids.aicall}/stop`, { reason: 'probe' }),
    pipeline('POST', '/v1/pipelines/:id/end', `/v1/pipelines/${ids.aicall}/end`, { reason: 'stop_flow', say: 'probe' }),
    pipeline('POST', '/v1/pipelines/:id/messages', `/v1/pipelines/${ids.aicall}/messages`, { text: 'probe' }),
    pipeline('POST', '/v1/pipelines/:id/dtmf', `/v1/pipelines/${ids.aicall}/dtmf`, { digit: '1' }),
    // A transcriber on the victim's call (shared queue; flow-manager refuses the snoop leg), reporting into the victim's transcription ...
    probe('pipeline-manager', 'POST', '/v1/transcribers', '/v1/transcribers', {
      transcribe_id: ids.transcribe,
      call_id: ids.call,
      direction: 'in',
      stt_type: 'stretch',
    }),
    // ... and stopping each of the victim's running transcribers on the process that runs it.
    ...victim.transcribers.map((transcriber, index) => ({
      ...pipeline('POST', '/v1/transcribers/:id/stop', `/v1/transcribers/${transcriber.id}/stop`, { reason: 'probe' }),
      ...(index === 0 ? {} : { route: `POST /v1/transcribers/:id/stop (${transcriber.direction})` }),
    })),
  ];
}
