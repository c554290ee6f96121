import { appError, isAppError, rpcCall, type AicallCreate, type AicallStatus, type Aimessage, type AimessageCreate, type Bus, type EventEnvelope, type Logger, type Subscription } from '@avp/shared';
import { z } from 'zod';
import { findAicall, setPipelineInstance, touchAicall } from '../domain/aicalls/aicall-repository.ts';
import { isLive } from '../domain/aicalls/aicall-status.ts';
import { createAicall, terminateAicall } from '../domain/aicalls/aicall-service.ts';
import { recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import { notFound } from '../domain/not-found.ts';
import { getAi, readEngineKey } from '../domain/ais/ai-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { chooseTtsVoice } from './voices.ts';

/** A tool as the LLM is offered it. */
export interface OfferedTool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface SessionServiceOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** The tools offered for an AI's `tool_names` (default: none). */
  tools?: (toolNames: string[]) => OfferedTool[];
  /** The platform's own system prompt, first in every session. */
  platformPrompt?: string;
  /** Longest wait for pipeline-manager to start a pipeline (default 20 s). */
  pipelineStartTimeoutMs?: number;
  /** Actions a tool left to run when the flow is given back (connect_call), by AIcall id. */
  pendingEnds?: Map<string, { actions?: unknown[] }>;
  /** Shortest time between a change of a voice session and a message sent into it (default 3000 ms). */
  sendCooldownMs?: number;
  /** Sessions started through the API wait this long for the greeting's first LLM output (default 8000 ms). */
  confirmLlmMs?: number;
}

/** A session that could not start; its AIcall exists and is terminated with the reason. */
class SessionStartFailure extends Error {
  constructor(
    readonly aicallId: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** What flow-manager's `ai_talk` / `ai_task` send (`POST /v1/services/type/aicall`). */
export const serviceStartSchema = z.object({
  customer_id: z.uuid(),
  activeflow_id: z.uuid().nullable().default(null),
  assistance_type: z.enum(['ai']).default('ai'),
  assistance_id: z.uuid(),
  reference_type: z.enum(['call', 'conversation', 'api', 'ai', 'flow']).default('call'),
  reference_id: z.string().nullable().default(null),
});
export type ServiceStart = z.infer<typeof serviceStartSchema>;

export const defaultPlatformPrompt = [
  'You are a voice assistant on a phone call run by an automated platform.',
  'Speak in short, natural sentences; no lists, markdown or emoji: everything you write is read aloud.',
  'Use the tools you are offered when the caller asks for something they do; never invent results.',
  'If the caller says nothing useful, ask one short question.',
].join(' ');

/**
 * AI sessions started from flows: the AIcall record, its system prompts, the flow
 * variables, and the pipeline in pipeline-manager for a call. A session that cannot start
 * after its AIcall exists ends it with the reason and gives the flow back (it goes on
 * after `ai_talk`). Pipelines ending and calls hanging up terminate their AIcall.
 */
export class SessionService {
  private readonly logger: Logger;
  private readonly subscriptions: Subscription[] = [];

  constructor(private readonly options: SessionServiceOptions) {
    this.logger = options.logger.child({ component: 'sessions' });
  }

  /** Listens for pipelines ending and calls hanging up. */
  async start(): Promise<void> {
    const { bus, serviceName } = this.options;
    this.subscriptions.push(
      await bus.subscribe('pipeline-manager', ['pipeline_terminated'], (event) => this.onPipelineTerminated(event), {
        queue: `${serviceName}.pipeline-terminated`,
      }),
      await bus.subscribe('flow-manager', ['call_hangup'], (event) => this.onCallHangup(event), { queue: `${serviceName}.call-hangup` }),
      await bus.subscribe('flow-manager', ['call_dtmf_received'], (event) => this.onDtmf(event), { queue: `${serviceName}.call-dtmf` }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map((subscription) => subscription.close()));
  }

  /** `ai_talk`: creates and starts the session; answers the actions flow-manager pushes. */
  async startFromFlow(input: ServiceStart): Promise<{ id: string; type: 'aicall'; push_actions: unknown[] }> {
    try {
      const aicallId = await this.launch(input);
      // The flow waits in a block whose id is the AIcall's; stop_service / continue release it.
      return { id: aicallId, type: 'aicall', push_actions: [{ id: aicallId, type: 'block' }] };
    } catch (error) {
      // The session could not start (the AIcall records why): the flow goes on after ai_talk.
      if (error instanceof SessionStartFailure) return { id: error.aicallId, type: 'aicall', push_actions: [] };
      throw error;
    }
  }

  /**
   * `POST /v1.0/aicalls` with `reference_type: call`: an AI session on a live call of the
   * customer's, started at once. Unlike ai_talk, failures are the answer: 404 for another
   * customer's call or AI, 409 for a call that has ended, 402 below the minimum balance, and a
   * provider that refuses the engine key (or is down) before the greeting is a 500
   * `PROVIDER_ERROR`; the AIcall of a failed start is terminated with the reason.
   */
  async startForCall(customerId: string, body: AicallCreate): Promise<string> {
    const { domain } = this.options;
    const callId = body.reference_id;
    if (!callId) throw appError('VALIDATION_FAILED', 'reference_id: required when reference_type is call');
    await getAi(domain, customerId, body.assistance_id);
    const call = await this.flowManager<{ customer_id: string; status: string; activeflow_id?: string | null }>('GET', `/v1/calls/${callId}`).catch((error: unknown) => {
      if (isAppError(error) && error.httpStatus === 404) throw notFound('call');
      throw error;
    });
    if (call.customer_id !== customerId) throw notFound('call');
    if (call.status === 'hangup') throw appError('INVALID_STATE', 'The call has ended.');
    await domain.billing?.assertCanStart(customerId);
    if (call.status === 'ringing') await this.flowManager('POST', `/v1/calls/${callId}/answer`);
    try {
      return await this.launch(
        {
          customer_id: customerId,
          activeflow_id: body.activeflow_id ?? call.activeflow_id ?? null,
          assistance_type: 'ai',
          assistance_id: body.assistance_id,
          reference_type: 'call',
          reference_id: callId,
        },
        { confirmLlmMs: this.options.confirmLlmMs ?? 8000 },
      );
    } catch (error) {
      throw error instanceof SessionStartFailure ? error.cause : error;
    }
  }

  /**
   * Creates the AIcall and starts the session: prompts, flow variables, the pipeline. Returns
   * the AIcall id; a failure after the AIcall exists terminates it with a notification and
   * throws a SessionStartFailure carrying the cause.
   */
  private async launch(input: ServiceStart, options: { confirmLlmMs?: number } = {}): Promise<string> {
    const { domain } = this.options;
    const voice = input.reference_type === 'call';
    // Billing first: below the minimum balance nothing starts; the AIcall only records why.
    const refusal = await domain.billing?.assertCanStart(input.customer_id).then(
      () => undefined,
      (error: unknown) => error,
    );
    const aicall = await createAicall(domain, input.customer_id, {
      assistance_type: input.assistance_type,
      assistance_id: input.assistance_id,
      reference_type: voice ? 'call' : input.reference_type === 'conversation' ? 'conversation' : '',
      reference_id: voice || input.reference_type === 'conversation' ? input.reference_id : null,
      activeflow_id: input.activeflow_id,
    });
    try {
      if (refusal) throw refusal;
      const ai = await getAi(domain, input.customer_id, input.assistance_id);
      // The flow's variables, read once for the prompts and the voice, and only if needed.
      let variables: Promise<Record<string, string>> | undefined;
      const flowVariables = () => (variables ??= this.flowVariables(input.activeflow_id));
      const prompts = await this.systemPrompts(ai.init_prompt, ai.parameter, flowVariables);
      for (const content of prompts) await recordAimessage(domain, aicall.id, { role: 'system', direction: 'outgoing', content });
      if (input.activeflow_id) {
        await this.flowManager('POST', `/v1/variables/${input.activeflow_id}/variables`, {
          variables: {
            'voipbin.aicall.id': aicall.id,
            'voipbin.aicall.ai_id': ai.id,
            'voipbin.aicall.ai_engine_model': ai.engine_model,
            'voipbin.aicall.stt_language': ai.stt_language,
          },
        });
      }
      if (voice && input.reference_id) {
        const engineKey = await readEngineKey(domain, input.customer_id, ai.id);
        const started = await rpcCall<{ pipeline_id: string; instance_id: string }>(
          this.options.bus,
          'pipeline-manager',
          'POST',
          '/v1/pipelines',
          {
            aicall_id: aicall.id,
            customer_id: input.customer_id,
            activeflow_id: input.activeflow_id,
            call_id: input.reference_id,
            ai: {
              engine_model: ai.engine_model,
              ...(engineKey ? { engine_key: engineKey } : {}),
              tts_type: ai.tts_type,
              tts_voice_id: (await chooseTtsVoice(ai, flowVariables)).voiceId,
              stt_type: ai.stt_type,
              stt_language: ai.stt_language,
              vad_config: ai.vad_config,
              parameter: ai.parameter,
            },
            messages: prompts.map((content) => ({ role: 'system', content })),
            // As in the reference, search_knowledge is not offered to an AI with no knowledge base.
            tools: (this.options.tools?.(ai.tool_names) ?? []).filter((tool) => tool.name !== 'search_knowledge' || ai.knowledgebase_ids.length > 0),
            ...(options.confirmLlmMs ? { confirm_llm_ms: options.confirmLlmMs } : {}),
          },
          { publisher: this.options.serviceName, timeoutMs: this.options.pipelineStartTimeoutMs ?? 20_000 },
        );
        // Stored, not kept in memory: stop and DTMF reach the pipeline from any ai-manager
        // instance, after a restart too, and the pipeline watchdog checks that instance.
        await setPipelineInstance(domain.db, aicall.id, started.instance_id);
      }
      this.logger.info({ aicallId: aicall.id, activeflowId: input.activeflow_id, reference: input.reference_type }, 'session started');
      return aicall.id;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn({ aicallId: aicall.id, err: error }, 'session could not start');
      await recordAimessage(domain, aicall.id, { role: 'notification', direction: 'incoming', content: `The session could not start: ${reason}` }).catch(
        () => undefined,
      );
      await terminateAicall(domain, input.customer_id, aicall.id).catch(() => undefined);
      throw new SessionStartFailure(aicall.id, error);
    }
  }

  /** Ends a live session from the API (`POST /v1.0/aicalls/{id}/terminate`): pipeline, AIcall, flow. */
  async terminate(customerId: string, aicallId: string): Promise<void> {
    await this.stopPipeline(aicallId, 'terminated through the API');
    const row = await findAicall(this.options.domain.db, aicallId, customerId);
    if (row?.activeflow_id) await this.giveFlowBack(row.activeflow_id, aicallId);
  }

  /**
   * `POST /v1.0/aimessages`: a user message into a session. A live voice session gets it at
   * once (the pipeline answers by voice); the message is stored only once the pipeline took it,
   * so an unreachable pipeline is a 503 and nothing is stored. Within the cooldown after the
   * session last changed it is a 429 `SEND_COOLDOWN`. Other sessions just store it.
   */
  async sendMessage(customerId: string, fields: AimessageCreate): Promise<Aimessage> {
    const { domain } = this.options;
    const aicall = await findAicall(domain.db, fields.aicall_id, customerId);
    if (!aicall) throw notFound('AIcall');
    if (aicall.reference_type !== 'call' || !aicall.pipeline_instance_id || !isLive(aicall.status as AicallStatus)) {
      return recordAimessage(domain, aicall.id, { role: 'user', direction: 'outgoing', content: fields.content }, customerId);
    }
    const cooldownMs = this.options.sendCooldownMs ?? 3000;
    const sinceChange = Date.now() - Date.parse(aicall.tm_update);
    if (sinceChange < cooldownMs) {
      throw appError('SEND_COOLDOWN', `Wait ${Math.ceil((cooldownMs - sinceChange) / 1000)} s before sending another message into this session.`);
    }
    await rpcCall(this.options.bus, 'pipeline-manager', 'POST', `/v1/pipelines/${aicall.id}/messages`, { text: fields.content }, {
      instanceId: aicall.pipeline_instance_id,
      publisher: this.options.serviceName,
      timeoutMs: 1500,
    }).catch((error: unknown) => {
      this.logger.warn({ err: error, aicallId: aicall.id }, 'could not pass a message to the pipeline');
      throw appError('SERVICE_UNAVAILABLE', 'The voice session did not take the message; nothing was stored. Try again.');
    });
    const message = await recordAimessage(domain, aicall.id, { role: 'user', direction: 'outgoing', content: fields.content }, customerId);
    await touchAicall(domain.db, aicall.id);
    return message;
  }

  /** AIcalls being ended for lack of balance (each is ended once however many charges follow). */
  private readonly balanceEnds = new Set<string>();

  /**
   * Billing: a live session's account ran out. A notification says why; the pipeline says
   * `goodbye` and ends with `stop_service`, so the flow goes on after ai_talk (through
   * onPipelineTerminated). Without a pipeline to ask, the session ends here the same way.
   */
  async endForBalance(aicallId: string, goodbye: string): Promise<void> {
    const { domain } = this.options;
    if (this.balanceEnds.has(aicallId)) return;
    const row = await findAicall(domain.db, aicallId);
    if (!row || (row.status !== 'initiating' && row.status !== 'progressing')) return;
    this.balanceEnds.add(aicallId);
    setTimeout(() => this.balanceEnds.delete(aicallId), 120_000).unref();
    this.logger.info({ aicallId }, 'the billing account ran out; ending the session');
    await recordAimessage(domain, aicallId, {
      role: 'notification',
      direction: 'incoming',
      content: 'The session ends: the billing account balance ran out.',
    }).catch(() => undefined);
    if (row.pipeline_instance_id) {
      const asked = await rpcCall(
        this.options.bus,
        'pipeline-manager',
        'POST',
        `/v1/pipelines/${aicallId}/end`,
        { reason: 'stop_service', say: goodbye },
        { instanceId: row.pipeline_instance_id, publisher: this.options.serviceName },
      ).then(
        () => true,
        (error: unknown) => {
          if (!(isAppError(error) && error.httpStatus === 404)) this.logger.warn({ err: error, aicallId }, 'could not ask the pipeline to end');
          return false;
        },
      );
      if (asked) return;
      await this.stopPipeline(aicallId, 'the billing account ran out');
    }
    await terminateAicall(domain, row.customer_id, row.id);
    if (row.activeflow_id) await this.giveFlowBack(row.activeflow_id, row.id);
  }

  private async flowVariables(activeflowId: string | null): Promise<Record<string, string>> {
    return activeflowId ? (await this.flowManager<{ variables: Record<string, string> }>('GET', `/v1/variables/${activeflowId}`)).variables : {};
  }

  private async systemPrompts(initPrompt: string, parameter: Record<string, unknown>, flowVariables: () => Promise<Record<string, string>>): Promise<string[]> {
    const prompts = [this.options.platformPrompt ?? defaultPlatformPrompt];
    if (initPrompt.trim() !== '') {
      // Flow variables fill `${name}`; placeholders that are not flow variables stay as they
      // are (a local.scripted script uses its own).
      const variables = await flowVariables();
      prompts.push(initPrompt.replace(/\$\{(.*?)\}/g, (placeholder, name: string) => variables[name.trim()] ?? placeholder));
    }
    if (Object.keys(parameter).length > 0) prompts.push(`Parameters for this conversation (JSON): ${JSON.stringify(parameter)}`);
    return prompts;
  }

  private async onPipelineTerminated(event: EventEnvelope): Promise<void> {
    const data = z.object({ aicall_id: z.uuid(), reason: z.string(), error: z.unknown().optional() }).parse(event.data);
    const row = await findAicall(this.options.domain.db, data.aicall_id);
    if (!row || row.status === 'terminated') return;
    this.logger.info({ aicallId: row.id, reason: data.reason }, 'pipeline ended; ending the session');
    if (data.error) {
      await recordAimessage(this.options.domain, row.id, { role: 'notification', direction: 'incoming', content: `The session ended: ${data.reason}` }).catch(
        () => undefined,
      );
    }
    await terminateAicall(this.options.domain, row.customer_id, row.id);
    if (!row.activeflow_id) return;
    const pending = this.options.pendingEnds?.get(row.id);
    this.options.pendingEnds?.delete(row.id);
    if (data.reason === 'stop_flow') {
      // Hard stop: the flow ends and the call is hung up.
      await this.flowManager('POST', `/v1/activeflows/${row.activeflow_id}/stop`, { reason: 'the AI ended the call (stop_flow)' }).catch((error: unknown) =>
        this.logger.warn({ err: error, aicallId: row.id }, 'could not stop the flow'),
      );
      return;
    }
    // stop_service, connect_call (with its connect action first), and every other end: the
    // flow goes on after ai_talk (a call that hung up has ended its flow already).
    await this.giveFlowBack(row.activeflow_id, row.id, pending?.actions);
  }

  /** Live AIcalls on a call. */
  private liveOnCall(callId: string) {
    return this.options.domain.db
      .selectFrom('aicalls')
      .select(['id', 'customer_id', 'pipeline_instance_id'])
      .where('reference_type', '=', 'call')
      .where('reference_id', '=', callId)
      .where('status', 'in', ['initiating', 'progressing'])
      .where('tm_delete', 'is', null)
      .execute();
  }

  /** A digit the caller pressed reaches the session's LLM. */
  private async onDtmf(event: EventEnvelope): Promise<void> {
    const dtmf = z.object({ call_id: z.uuid(), digit: z.string() }).parse(event.data);
    for (const aicall of await this.liveOnCall(dtmf.call_id)) {
      const instanceId = aicall.pipeline_instance_id;
      if (!instanceId) continue;
      await rpcCall(this.options.bus, 'pipeline-manager', 'POST', `/v1/pipelines/${aicall.id}/dtmf`, { digit: dtmf.digit }, { instanceId, publisher: this.options.serviceName }).catch(
        (error: unknown) => this.logger.warn({ err: error, aicallId: aicall.id }, 'could not pass a digit to the pipeline'),
      );
    }
  }

  private async onCallHangup(event: EventEnvelope): Promise<void> {
    const call = z.object({ id: z.uuid(), customer_id: z.uuid() }).parse(event.data);
    for (const aicall of await this.liveOnCall(call.id)) {
      await this.stopPipeline(aicall.id, 'the call hung up');
      await terminateAicall(this.options.domain, aicall.customer_id, aicall.id);
    }
  }

  private async stopPipeline(aicallId: string, reason: string): Promise<void> {
    const instanceId = (await findAicall(this.options.domain.db, aicallId))?.pipeline_instance_id;
    if (!instanceId) return;
    await rpcCall(this.options.bus, 'pipeline-manager', 'POST', `/v1/pipelines/${aicallId}/stop`, { reason }, { instanceId, publisher: this.options.serviceName }).catch(
      (error: unknown) => {
        if (!(isAppError(error) && error.httpStatus === 404)) this.logger.warn({ err: error, aicallId }, 'could not stop the pipeline');
      },
    );
  }

  private async giveFlowBack(activeflowId: string, aicallId: string, actions: unknown[] = []): Promise<void> {
    await this.flowManager('POST', `/v1/activeflows/${activeflowId}/service_stop`, { service_id: aicallId, actions }).catch((error: unknown) => {
      // The flow may have ended already (the call hung up) or moved on.
      if (!(isAppError(error) && (error.httpStatus === 409 || error.httpStatus === 404))) {
        this.logger.warn({ err: error, aicallId, activeflowId }, 'could not give the flow back');
      }
    });
  }

  private flowManager<T = unknown>(method: 'POST' | 'GET', uri: string, data?: unknown): Promise<T> {
    return rpcCall<T>(this.options.bus, 'flow-manager', method, uri, data, { publisher: this.options.serviceName, timeoutMs: 5000 });
  }
}
