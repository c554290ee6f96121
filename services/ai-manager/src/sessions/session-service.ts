import { appError, isAppError, type Aicall, type AicallCreate, type AicallStatus, type Aimessage, type AimessageCreate, type EventEnvelope, type Logger, type Subscription } from '@avp/shared';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { findAicall, touchAicall } from '../domain/aicalls/aicall-repository.ts';
import { isLive } from '../domain/aicalls/aicall-status.ts';
import { isSupersededEpoch } from '../domain/aicalls/pipeline-fence.ts';
import { terminateAicall } from '../domain/aicalls/aicall-service.ts';
import { recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import { notFound } from '../domain/not-found.ts';
import { FlowGiveBacks, type FlowGiveBackSettings } from './flow-give-back.ts';
import { callPipeline } from './flow-manager-rpc.ts';
import { SessionStarter, type ServiceStart, type SessionStartOptions } from './session-start.ts';
import { TaskSessions, type TaskSessionsOptions } from './task-sessions.ts';
import { TextSessions, type TextSessionsOptions } from './text-sessions.ts';
import { createWebSession, startWebPipeline } from './web-session-start.ts';

export { defaultPlatformPrompt, serviceStartSchema, type OfferedTool, type ServiceStart } from './session-start.ts';

export interface SessionServiceOptions extends SessionStartOptions {
  /** Actions a tool left to run when the flow is given back (connect_call), by AIcall id. */
  pendingEnds?: Map<string, { actions?: unknown[] }>;
  /** Shortest time between a change of a voice session and a message sent into it (default 3000 ms). */
  sendCooldownMs?: number;
  /** Retries of the hand-back to the flow when a session ends (flow-give-back.ts). */
  giveBack?: Partial<FlowGiveBackSettings>;
  /** The service's Prometheus registry, for the hand-back metrics. */
  metrics?: Registry;
  /** Text conversations (SMS, LINE, text AIcalls over the API): idle timeout, channel delivery, prompts. */
  text?: Pick<TextSessionsOptions, 'chatPrompt' | 'idleTimeoutMs' | 'idleSweepIntervalMs' | 'turnTimeoutMs' | 'deliver' | 'troubleReply' | 'now'>;
  /** `ai_task`: how long a task may run (AICALL_TASK_TIMEOUT_SECONDS), its LLM requests, its prompt. */
  task?: Pick<TaskSessionsOptions, 'timeoutMs' | 'maxLlmRequests' | 'taskPrompt' | 'handBackWaitMs'>;
}

/**
 * AI sessions started from flows: the AIcall record, its system prompts, the flow
 * variables, and the pipeline in pipeline-manager for a call. A session that cannot start
 * after its AIcall exists ends it with the reason and gives the flow back (it goes on
 * after `ai_talk`). Pipelines ending and calls hanging up terminate their AIcall. Starting
 * is SessionStarter's (session-start.ts); this class runs and ends the live sessions.
 */
export class SessionService {
  private readonly logger: Logger;
  private readonly subscriptions: Subscription[] = [];
  private readonly starter: SessionStarter;
  /** Flows given back when sessions end, retried until flow-manager takes them. */
  readonly giveBacks: FlowGiveBacks;
  /** Text conversations: SMS, LINE and text AIcalls over the API (text-sessions.ts). */
  readonly text: TextSessions;
  /** `ai_task`: a flow's non-real-time AI step (task-sessions.ts). */
  readonly task: TaskSessions;

  constructor(private readonly options: SessionServiceOptions) {
    this.logger = options.logger.child({ component: 'sessions' });
    this.starter = new SessionStarter({ ...options, logger: this.logger });
    this.giveBacks = new FlowGiveBacks({ bus: options.bus, serviceName: options.serviceName, logger: this.logger, metrics: options.metrics, settings: options.giveBack });
    this.text = new TextSessions({ ...options.text, domain: options.domain, bus: options.bus, logger: options.logger, serviceName: options.serviceName, tools: options.tools, metrics: options.metrics });
    this.task = new TaskSessions({ ...options.task, domain: options.domain, bus: options.bus, logger: options.logger, serviceName: options.serviceName, tools: options.tools, giveBacks: this.giveBacks });
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
    this.text.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map((subscription) => subscription.close()));
    this.giveBacks.stop();
    await this.text.stop();
    await this.task.idle();
  }

  /**
   * `ai_talk`: creates and starts the session; answers the actions flow-manager pushes. In a
   * message flow (reference type `conversation`) the flow does not wait: the answer is sent
   * through the conversation later (text-sessions.ts).
   */
  startFromFlow(input: ServiceStart): Promise<{ id: string; type: 'aicall'; push_actions: unknown[] }> {
    if (input.reference_type === 'conversation') return this.text.startFromFlow(input);
    return this.starter.startFromFlow(input);
  }

  /** `POST /v1.0/aicalls` with `reference_type: call`: see SessionStarter.startForCall. */
  startForCall(customerId: string, body: AicallCreate): Promise<string> {
    return this.starter.startForCall(customerId, body);
  }

  /** `POST /v1.0/web_sessions`: see createWebSession (web-session-start.ts). */
  createWebSession(customerId: string, aiId: string): Promise<Aicall> {
    return createWebSession({ ...this.options, logger: this.logger }, customerId, aiId);
  }

  /** A web session's browser connected: see startWebPipeline (web-session-start.ts). */
  startWebPipeline(customerId: string, aicallId: string, mediaUrl: string): Promise<void> {
    return startWebPipeline({ ...this.options, logger: this.logger }, customerId, aicallId, mediaUrl);
  }

  /**
   * A web session's socket closed: its pipeline stops with `reason` (once it has stored what
   * was said) and the AIcall ends. There is no flow to give back.
   */
  async endWebSession(customerId: string, aicallId: string, reason: string): Promise<void> {
    const row = await findAicall(this.options.domain.db, aicallId, customerId);
    if (!row || row.reference_type !== 'web_session') return;
    await this.stopPipeline(row.id, reason);
    await terminateAicall(this.options.domain, customerId, row.id);
  }

  /** `POST /v1.0/aicalls` binding an AIcall without a call to an activeflow: see SessionStarter.assertOwnActiveflow. */
  assertOwnActiveflow(customerId: string, activeflowId: string): Promise<void> {
    return this.starter.assertOwnActiveflow(customerId, activeflowId);
  }

  /** Ends a live session from the API (`POST /v1.0/aicalls/{id}/terminate`): pipeline, AIcall, flow. */
  async terminate(customerId: string, aicallId: string): Promise<void> {
    const row = await findAicall(this.options.domain.db, aicallId, customerId);
    if (!row) return;
    await this.stopPipeline(row.id, 'terminated through the API');
    // A message flow never waited for its conversation's AI: there is no flow to give back.
    if (row.activeflow_id && row.reference_type !== 'conversation') await this.giveFlowBack(row.customer_id, row.activeflow_id, row.id);
  }

  /**
   * `POST /v1.0/aimessages`: a user message into a session. A live voice session gets it at
   * once (the pipeline answers by voice); the message is stored only once the pipeline took it,
   * so an unreachable pipeline is a 503 and nothing is stored. Within the cooldown after the
   * session last changed it is a 429 `SEND_COOLDOWN`. A voice AIcall without its pipeline just
   * stores it. A text AIcall (a conversation, or reference type `""`) answers it in the
   * background (text-sessions.ts).
   */
  async sendMessage(customerId: string, fields: AimessageCreate): Promise<Aimessage> {
    const { domain } = this.options;
    const aicall = await findAicall(domain.db, fields.aicall_id, customerId);
    if (!aicall) throw notFound('AIcall');
    // A text AIcall: one over the API, or a conversation's once ai_talk started it (a conversation
    // AIcall created over the API is only a record, `initiating`, and just stores the message).
    if (aicall.reference_type === '' || (aicall.reference_type === 'conversation' && aicall.status === 'progressing')) {
      return this.text.sendMessage(customerId, aicall, fields.content);
    }
    if (aicall.reference_type !== 'call') return recordAimessage(domain, aicall.id, { role: 'user', direction: 'outgoing', content: fields.content }, customerId);
    if (aicall.reference_type !== 'call' || !aicall.pipeline_instance_id || !isLive(aicall.status as AicallStatus)) {
      return recordAimessage(domain, aicall.id, { role: 'user', direction: 'outgoing', content: fields.content }, customerId);
    }
    const cooldownMs = this.options.sendCooldownMs ?? 3000;
    const sinceChange = Date.now() - Date.parse(aicall.tm_update);
    if (sinceChange < cooldownMs) {
      throw appError('SEND_COOLDOWN', `Wait ${Math.ceil((cooldownMs - sinceChange) / 1000)} s before sending another message into this session.`);
    }
    await callPipeline(this.options, aicall, aicall.pipeline_instance_id, 'messages', { text: fields.content }, 1500).catch((error: unknown) => {
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
  async endForBalance(customerId: string, aicallId: string, goodbye: string): Promise<void> {
    const { domain } = this.options;
    if (this.balanceEnds.has(aicallId)) return;
    // Only the charged customer's own session ends when its balance runs out.
    const row = await findAicall(domain.db, aicallId, customerId);
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
      const asked = await callPipeline(this.options, row, row.pipeline_instance_id, 'end', { reason: 'stop_service', say: goodbye }).then(
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
    if (row.activeflow_id) await this.giveFlowBack(row.customer_id, row.activeflow_id, row.id);
  }

  private async onPipelineTerminated(event: EventEnvelope): Promise<void> {
    const data = z
      .object({ aicall_id: z.uuid(), reason: z.string(), error: z.unknown().optional(), pipeline_epoch: z.number().int().min(0).optional() })
      .parse(event.data);
    const row = await findAicall(this.options.domain.db, data.aicall_id);
    if (!row || row.status === 'terminated') return;
    if (isSupersededEpoch(row.pipeline_epoch, data.pipeline_epoch)) {
      // A pipeline replaced by crash resumption ending (told to stop, or woken from a stall):
      // the session goes on with its successor.
      this.logger.info({ aicallId: row.id, reason: data.reason, epoch: data.pipeline_epoch, current: row.pipeline_epoch }, 'a replaced pipeline ended; the session goes on');
      return;
    }
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
      await this.giveBacks.handBack({
        customerId: row.customer_id,
        activeflowId: row.activeflow_id,
        aicallId: row.id,
        action: 'stop',
        body: { reason: 'the AI ended the call (stop_flow)' },
      });
      return;
    }
    // stop_service, connect_call (with its connect action first), and every other end: the
    // flow goes on after ai_talk (a call that hung up has ended its flow already).
    await this.giveFlowBack(row.customer_id, row.activeflow_id, row.id, pending?.actions);
  }

  /** Live AIcalls on a call, of the call's own customer (flow-manager's event names it). */
  private liveOnCall(customerId: string, callId: string) {
    return this.options.domain.db
      .selectFrom('aicalls')
      .select(['id', 'customer_id', 'pipeline_instance_id'])
      .where('customer_id', '=', customerId)
      .where('reference_type', '=', 'call')
      .where('reference_id', '=', callId)
      .where('status', 'in', ['initiating', 'progressing'])
      .where('tm_delete', 'is', null)
      .execute();
  }

  /** A digit the caller pressed reaches the session's LLM. */
  private async onDtmf(event: EventEnvelope): Promise<void> {
    const dtmf = z.object({ call_id: z.uuid(), customer_id: z.uuid(), digit: z.string() }).parse(event.data);
    for (const aicall of await this.liveOnCall(dtmf.customer_id, dtmf.call_id)) {
      const instanceId = aicall.pipeline_instance_id;
      if (!instanceId) continue;
      await callPipeline(this.options, aicall, instanceId, 'dtmf', { digit: dtmf.digit }).catch((error: unknown) =>
        this.logger.warn({ err: error, aicallId: aicall.id }, 'could not pass a digit to the pipeline'),
      );
    }
  }

  private async onCallHangup(event: EventEnvelope): Promise<void> {
    const call = z.object({ id: z.uuid(), customer_id: z.uuid() }).parse(event.data);
    for (const aicall of await this.liveOnCall(call.customer_id, call.id)) {
      await this.stopPipeline(aicall.id, 'the call hung up');
      await terminateAicall(this.options.domain, aicall.customer_id, aicall.id);
    }
  }

  private async stopPipeline(aicallId: string, reason: string): Promise<void> {
    const row = await findAicall(this.options.domain.db, aicallId);
    const instanceId = row?.pipeline_instance_id;
    if (!row || !instanceId) return;
    await callPipeline(this.options, row, instanceId, 'stop', { reason }).catch((error: unknown) => {
      if (!(isAppError(error) && error.httpStatus === 404)) this.logger.warn({ err: error, aicallId }, 'could not stop the pipeline');
    });
  }

  /** The flow goes on after ai_talk; retried in the background while flow-manager cannot be reached. */
  private async giveFlowBack(customerId: string, activeflowId: string, aicallId: string, actions: unknown[] = []): Promise<void> {
    await this.giveBacks.handBack({ customerId, activeflowId, aicallId, action: 'service_stop', body: { service_id: aicallId, actions } });
  }
}
