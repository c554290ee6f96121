import { appError, isAppError, newId, rpcCall, updateTimestamps, type Ai, type Aicall, type Aimessage, type Bus, type Logger } from '@avp/shared';
import { Counter, type Registry } from 'prom-client';
import { findAicall, type AicallRow } from '../domain/aicalls/aicall-repository.ts';
import { changeAicallStatus, createAicall, getAicall, terminateAicall } from '../domain/aicalls/aicall-service.ts';
import { isLive } from '../domain/aicalls/aicall-status.ts';
import { recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import { getAi } from '../domain/ais/ai-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { voiceOnlyTools } from '../tools/tool-executor.ts';
import { callFlowManager } from './flow-manager-rpc.ts';
import { pipelineAiSettings } from './pipeline-ai-settings.ts';
import { storedHistory } from './session-resume.ts';
import { renderSystemPrompts, type OfferedTool, type ServiceStart } from './session-start.ts';
import { currentTeamMember, memberHistory, memberPrompts, memberTools, teamParameter } from './team-sessions.ts';
import { defaultChatPrompt, defaultTroubleReply } from './text-prompts.ts';

/** Most hand-overs between a team's members while answering one message. */
const maxSwitchesPerMessage = 3;

/** How a reply reaches the person at the other end of a conversation (the channel's API). */
export type ConversationDelivery = (input: { customerId: string; conversationId: string; text: string; aicallId: string }) => Promise<unknown>;

export interface TextSessionsOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** The tools offered for an AI's `tool_names`; voice-only ones are left out here. */
  tools?: (toolNames: string[]) => OfferedTool[];
  /** The platform's first system prompt (default defaultChatPrompt). */
  chatPrompt?: string;
  /** A conversation's AIcall idle this long is ended; the next message starts a new one (AICALL_CONVERSATION_IDLE_TIMEOUT_HOURS, default 24 h). */
  idleTimeoutMs?: number;
  /** How often idle conversation AIcalls are looked for (default 60 s; 0 = only when a message comes). */
  idleSweepIntervalMs?: number;
  /** Longest wait for pipeline-manager's answer (default 150 s). */
  turnTimeoutMs?: number;
  /** Replies to conversations go out through this (the conversation's channel); without it they are only stored. */
  deliver?: ConversationDelivery;
  /** Said through the channel when no answer could be written (default defaultTroubleReply). */
  troubleReply?: string;
  /** The clock idle expiry reads (tests move it on). */
  now?: () => number;
  metrics?: Registry;
}

/** What ai_talk answers flow-manager: a text conversation's flow never waits for the AI. */
export interface FlowStartAnswer {
  id: string;
  type: 'aicall';
  push_actions: unknown[];
}

const liveStatuses = ['initiating', 'progressing'] as const;

/**
 * AI sessions in text conversations: SMS and LINE conversations (`ai_talk` in a message flow,
 * reference type `conversation`) and text AIcalls over the API (reference type `""`).
 *
 * One AIcall per conversation serves every message until it ends (`stop_service`, terminate,
 * or idle longer than `idleTimeoutMs`). Each message is stored, gives the AIcall a new turn id
 * and is answered by pipeline-manager (any instance: the history is read from the database
 * every time). An answer is sent only when its turn is still the AIcall's: a message that came
 * meanwhile superseded it (counted in `ai_manager_text_answers_superseded_total`), and its tool
 * calls are refused from then on. The flow never waits: ai_talk answers at once.
 */
export class TextSessions {
  private readonly logger: Logger;
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly turns = new Set<Promise<void>>();
  private sweep: NodeJS.Timeout | undefined;
  private readonly superseded?: Counter;
  private readonly idleExpired?: Counter;
  private readonly answered?: Counter<'outcome'>;

  constructor(private readonly options: TextSessionsOptions) {
    this.logger = options.logger.child({ component: 'text-sessions' });
    this.idleTimeoutMs = options.idleTimeoutMs ?? 24 * 3_600_000;
    this.now = options.now ?? Date.now;
    if (options.metrics) {
      this.superseded = new Counter({
        name: 'ai_manager_text_answers_superseded_total',
        help: 'Text answers dropped because a newer message of the conversation came while they were written.',
        registers: [options.metrics],
      });
      this.idleExpired = new Counter({
        name: 'ai_manager_aicall_idle_expired_total',
        help: 'Conversation AIcalls ended after AICALL_CONVERSATION_IDLE_TIMEOUT_HOURS without a message.',
        registers: [options.metrics],
      });
      this.answered = new Counter({
        name: 'ai_manager_text_answers_total',
        help: 'Text answers by outcome: sent (or stored, for API AIcalls), empty (the AI said nothing), failed (no answer could be written).',
        labelNames: ['outcome'] as const,
        registers: [options.metrics],
      });
    }
  }

  start(): void {
    const interval = this.options.idleSweepIntervalMs ?? 60_000;
    if (interval <= 0 || this.sweep) return;
    this.sweep = setInterval(() => {
      this.expireIdle().catch((error: unknown) => this.logger.warn({ err: error }, 'idle conversation sweep failed'));
    }, interval);
    this.sweep.unref();
  }

  /** Stops the sweep and waits for the answers under way. */
  async stop(): Promise<void> {
    clearInterval(this.sweep);
    this.sweep = undefined;
    await Promise.allSettled([...this.turns]);
  }

  /** Waits until no answer is being written (tests). */
  async idle(): Promise<void> {
    while (this.turns.size > 0) await Promise.allSettled([...this.turns]);
  }

  /**
   * `ai_talk` in a message flow (reference type `conversation`): the message in the activeflow's
   * `voipbin.conversation_message.text` goes to the conversation's AIcall (reused, or created),
   * and the answer is sent through the conversation's channel later. Answers at once.
   */
  async startFromFlow(input: ServiceStart): Promise<FlowStartAnswer> {
    const conversationId = input.reference_id;
    if (!conversationId) throw appError('VALIDATION_FAILED', 'reference_id: required when reference_type is conversation');
    if (!input.activeflow_id) throw appError('VALIDATION_FAILED', 'activeflow_id: a conversation AI needs the message flow that runs it');
    // Also the ownership check: flow-manager answers 404 for another customer's activeflow.
    const variables = await this.flowVariables(input.customer_id, input.activeflow_id);
    const text = variables['voipbin.conversation_message.text'];
    if (text === undefined || text.trim() === '') {
      throw appError('VALIDATION_FAILED', 'The activeflow has no voipbin.conversation_message.text: ai_talk with a conversation runs in a message flow.');
    }
    const aicall = await this.serialized(`${input.customer_id}:${conversationId}`, () =>
      this.conversationAicall(input.customer_id, input.assistance_type, input.assistance_id, conversationId, input.activeflow_id!, async () => variables),
    );
    await this.take(aicall, text, input.activeflow_id);
    return { id: aicall.id, type: 'aicall', push_actions: [] };
  }

  /**
   * `POST /v1.0/aicalls` with reference_type `""`: a text AIcall over the API, ready for
   * messages (`progressing`, with its system prompts). 402 below the minimum balance.
   */
  async createForApi(customerId: string, fields: { assistance_type?: 'ai' | 'team'; assistance_id: string; activeflow_id?: string | null }): Promise<Aicall> {
    await this.options.domain.billing?.assertCanStart(customerId);
    const activeflowId = fields.activeflow_id?.toLowerCase() ?? null;
    const type = fields.assistance_type ?? 'ai';
    // A team's AIcall starts with its start member (createAicall finds it).
    const aicall = await createAicall(this.options.domain, customerId, { assistance_type: type, assistance_id: fields.assistance_id, reference_type: '', activeflow_id: activeflowId });
    const flowVariables = () => this.flowVariables(customerId, activeflowId);
    await this.prepare(aicall, flowVariables);
    return getAicall(this.options.domain, customerId, aicall.id);
  }

  /**
   * `POST /v1.0/aimessages` into a text AIcall: stored, then answered (the answer arrives as
   * `aimessage_created`, and through the channel for a conversation). An AIcall that has ended
   * is a 409, a balance below the minimum a 402: nothing is stored then.
   */
  async sendMessage(customerId: string, row: AicallRow, content: string): Promise<Aimessage> {
    if (!isLive(row.status as Aicall['status'])) throw appError('INVALID_STATE', `The AIcall is ${row.status}; start a new one.`);
    await this.options.domain.billing?.assertCanStart(customerId);
    return this.take(row, content, null);
  }

  /** Ends the conversation AIcalls idle longer than the timeout (status only: nothing runs for them). */
  async expireIdle(): Promise<number> {
    const cutoff = new Date(this.now() - this.idleTimeoutMs).toISOString();
    const rows = await this.options.domain.db
      .selectFrom('aicalls')
      .select(['id', 'customer_id'])
      .where('reference_type', '=', 'conversation')
      .where('status', 'in', [...liveStatuses])
      .where('tm_update', '<', cutoff)
      .where('tm_delete', 'is', null)
      .limit(500)
      .execute();
    for (const row of rows) await this.expire(row);
    return rows.length;
  }

  /** The conversation's live AIcall, or a new one (an idle one is ended first). Runs under the conversation's lock. */
  private async conversationAicall(
    customerId: string,
    assistanceType: 'ai' | 'team',
    aiId: string,
    conversationId: string,
    activeflowId: string,
    flowVariables: () => Promise<Record<string, string>>,
  ): Promise<AicallRow> {
    const { domain } = this.options;
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await domain.db
        .selectFrom('aicalls')
        .selectAll()
        .where('customer_id', '=', customerId)
        .where('reference_type', '=', 'conversation')
        .where('reference_id', '=', conversationId)
        .where('status', 'in', [...liveStatuses])
        .where('tm_delete', 'is', null)
        .orderBy('tm_create', 'desc')
        .executeTakeFirst();
      if (existing && !this.isIdle(existing)) return existing;
      if (existing) await this.expire(existing);
      try {
        const aicall = await createAicall(domain, customerId, {
          assistance_type: assistanceType,
          assistance_id: aiId,
          reference_type: 'conversation',
          reference_id: conversationId,
          activeflow_id: activeflowId,
        });
        await this.prepare(aicall, flowVariables);
        this.logger.info({ aicallId: aicall.id, conversationId }, 'conversation session started');
        return (await findAicall(domain.db, aicall.id))!;
      } catch (error) {
        // Another ai-manager instance created it at the same moment: take that one.
        if (isAppError(error) && error.reason === 'RESOURCE_ALREADY_EXISTS') continue;
        throw error;
      }
    }
    throw appError('INVALID_STATE', 'The conversation changed AIcalls too often; try again.');
  }

  /** A new text AIcall's system prompts, a notice for voice-only tools it names, and `progressing`. */
  private async prepare(aicall: Aicall, flowVariables: () => Promise<Record<string, string>>): Promise<void> {
    const { domain } = this.options;
    const team = await currentTeamMember(domain, aicall);
    const ai = team ? { ...team.ai, parameter: teamParameter(team) } : await getAi(domain, aicall.customer_id, aicall.assistance_id);
    const prompts = await renderSystemPrompts(this.options.chatPrompt ?? defaultChatPrompt, ai.init_prompt, ai.parameter, flowVariables).catch(() =>
      renderSystemPrompts(this.options.chatPrompt ?? defaultChatPrompt, ai.init_prompt, ai.parameter, async () => ({})),
    );
    for (const content of prompts) await recordAimessage(domain, aicall.id, { role: 'system', direction: 'outgoing', content });
    const voiceOnly = ai.tool_names.filter((name) => voiceOnlyTools.has(name));
    if (voiceOnly.length > 0) {
      await recordAimessage(domain, aicall.id, {
        role: 'notification',
        direction: 'incoming',
        content: `Not offered in a text conversation (they work in phone calls only): ${voiceOnly.join(', ')}.`,
      });
    }
    await changeAicallStatus(domain, aicall.id, 'progressing', aicall.customer_id);
  }

  /** Stores the user's message, makes it the AIcall's turn, and has it answered in the background. */
  private async take(row: AicallRow, text: string, activeflowId: string | null): Promise<Aimessage> {
    const { domain } = this.options;
    const message = await recordAimessage(domain, row.id, { role: 'user', direction: 'outgoing', content: text }, row.customer_id);
    const turnId = newId();
    const updated = await domain.db
      .updateTable('aicalls')
      .set({ text_turn_id: turnId, ...updateTimestamps(), ...(activeflowId ? { activeflow_id: activeflowId } : {}) })
      .where('id', '=', row.id)
      .where('status', 'in', [...liveStatuses])
      .returningAll()
      .executeTakeFirst();
    if (!updated) throw appError('INVALID_STATE', 'The AIcall ended meanwhile; the message is stored but not answered.');
    const refusal = await domain.billing?.assertCanStart(row.customer_id).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (refusal) {
      // The message is kept; the AI does not answer below the minimum balance.
      await recordAimessage(domain, row.id, { role: 'notification', direction: 'incoming', content: 'Not answered: the billing account balance is below the minimum.' });
      return message;
    }
    const turn = this.answer(updated, turnId).finally(() => this.turns.delete(turn));
    this.turns.add(turn);
    return message;
  }

  /**
   * Has pipeline-manager answer the turn; stores and sends the answer if the turn is still
   * current. A team's member that hands the conversation over ends its part of the answer
   * there (its words are sent); the member it named answers the same message next.
   */
  private async answer(row: AicallRow, turnId: string, switches = 0): Promise<void> {
    const { domain } = this.options;
    const log = { aicallId: row.id, turnId };
    try {
      const team = await currentTeamMember(domain, row);
      const ai = team ? { ...team.ai, parameter: teamParameter(team) } : await getAi(domain, row.customer_id, row.assistance_id);
      const stored = await storedHistory(domain, row.id);
      const platformPrompt = stored[0]?.role === 'system' ? stored[0].content : (this.options.chatPrompt ?? defaultChatPrompt);
      const reply = await rpcCall<{ text: string; final_text: string; end_session: string | null; superseded: boolean }>(
        this.options.bus,
        'pipeline-manager',
        'POST',
        '/v1/text_turns',
        {
          aicall_id: row.id,
          customer_id: row.customer_id,
          turn_id: turnId,
          ai: await pipelineAiSettings(domain, row.customer_id, ai, async () => ({})),
          messages: team ? memberHistory(stored, await memberPrompts(team, platformPrompt, () => this.flowVariables(row.customer_id, row.activeflow_id))) : stored,
          tools: team ? memberTools(team, this.options.tools, voiceOnlyTools) : this.offeredTools(ai),
        },
        { publisher: this.options.serviceName, timeoutMs: this.options.turnTimeoutMs ?? 150_000 },
      );
      if (reply.superseded || !(await this.isCurrent(row.id, turnId))) {
        this.superseded?.inc();
        this.logger.debug(log, 'a newer message superseded this answer; dropped');
        return;
      }
      if (reply.final_text !== '') await recordAimessage(domain, row.id, { role: 'assistant', direction: 'incoming', content: reply.final_text });
      if (reply.text !== '') await this.deliver(row, reply.text);
      this.answered?.inc({ outcome: reply.text === '' ? 'empty' : 'sent' });
      if (reply.end_session) {
        // stop_service: the conversation's next message starts a new AIcall.
        await terminateAicall(domain, row.customer_id, row.id);
        this.logger.info({ ...log, reason: reply.end_session }, 'conversation session ended by the AI');
        return;
      }
      if (team && switches < maxSwitchesPerMessage) {
        const now = await findAicall(domain.db, row.id);
        if (now && now.current_member_id !== row.current_member_id && now.text_turn_id === turnId && isLive(now.status as Aicall['status'])) {
          this.logger.info({ ...log, memberId: now.current_member_id }, 'team member switched; the new member answers');
          await this.answer(now, turnId, switches + 1);
        }
      }
    } catch (error) {
      if (!(await this.isCurrent(row.id, turnId).catch(() => false))) {
        this.superseded?.inc();
        return;
      }
      this.answered?.inc({ outcome: 'failed' });
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn({ ...log, err: error }, 'no answer could be written');
      await recordAimessage(domain, row.id, { role: 'notification', direction: 'incoming', content: `No answer could be written: ${reason}` }).catch(() => undefined);
      await this.deliver(row, this.options.troubleReply ?? defaultTroubleReply).catch(() => undefined);
    }
  }

  /** The answer to the person: through the conversation's channel; a text AIcall's answer is its `aimessage_created`. */
  private async deliver(row: AicallRow, text: string): Promise<void> {
    if (row.reference_type !== 'conversation' || !row.reference_id) return;
    if (!this.options.deliver) {
      this.logger.debug({ aicallId: row.id }, 'no channel delivery configured; the answer is stored only');
      return;
    }
    await this.options.deliver({ customerId: row.customer_id, conversationId: row.reference_id, text, aicallId: row.id }).catch((error: unknown) => {
      this.logger.warn({ aicallId: row.id, err: error }, 'the answer could not be sent through the conversation');
    });
  }

  /** The tools a text conversation offers: the AI's, without the voice-only ones (and search_knowledge only with a knowledge base). */
  private offeredTools(ai: Ai): OfferedTool[] {
    return (this.options.tools?.(ai.tool_names) ?? []).filter(
      (tool) => !voiceOnlyTools.has(tool.name) && (tool.name !== 'search_knowledge' || ai.knowledgebase_ids.length > 0),
    );
  }

  private async isCurrent(aicallId: string, turnId: string): Promise<boolean> {
    const row = await this.options.domain.db.selectFrom('aicalls').select(['text_turn_id', 'status']).where('id', '=', aicallId).executeTakeFirst();
    return row?.text_turn_id === turnId && (row.status === 'initiating' || row.status === 'progressing');
  }

  private isIdle(row: AicallRow): boolean {
    return this.now() - Date.parse(row.tm_update) > this.idleTimeoutMs;
  }

  private async expire(row: { id: string; customer_id: string }): Promise<void> {
    await terminateAicall(this.options.domain, row.customer_id, row.id);
    this.idleExpired?.inc();
    this.logger.info({ aicallId: row.id }, 'conversation session ended: idle');
  }

  private async flowVariables(customerId: string, activeflowId: string | null): Promise<Record<string, string>> {
    if (!activeflowId) return {};
    return (await callFlowManager<{ variables: Record<string, string> }>(this.options, customerId, 'GET', `/v1/variables/${activeflowId}`)).variables;
  }

  /** Runs `work` after the previous work of the same key (one conversation's messages, in this process). */
  private serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return next;
  }
}

