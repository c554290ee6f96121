import { isAppError, rpcCall, type Bus, type Logger, type ToolCall } from '@avp/shared';
import { withEvents } from '../events/event-publisher.ts';
import { claimPipeline, findAicall, type AicallRow } from '../domain/aicalls/aicall-repository.ts';
import { toAicall } from '../domain/aicalls/aicall-service.ts';
import { recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import { getAi } from '../domain/ais/ai-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { callFlowManager, callPipeline } from './flow-manager-rpc.ts';
import { pipelineAiSettings, sessionDeadline } from './pipeline-ai-settings.ts';
import type { PipelineInstances } from './pipeline-instances.ts';
import type { OfferedTool } from './session-start.ts';
import { currentTeamMember, memberHistory, memberPrompts, memberTools, teamParameter } from './team-sessions.ts';

/** What a resumed session says first when a turn was lost (`PIPELINE_RESUME_APOLOGY`). */
export const defaultResumeApology = 'Sorry, I missed that. Could you say it again?';

export interface SessionResumeOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  instances: PipelineInstances;
  /** The tools offered for an AI's `tool_names` (as when the session started). */
  tools?: (toolNames: string[]) => OfferedTool[];
  /** Said first when the caller's last turn got no answer or the old pipeline died mid-answer. */
  apology?: string;
  /** Longest wait for one pipeline-manager instance to take the session (default 5000 ms). */
  startTimeoutMs?: number;
}

/** How a resumption went: `resumed` on `instanceId`; `taken` (someone else changed the AIcall first); `failed` (it still names `instanceId`). */
export type ResumeOutcome = { outcome: 'resumed'; instanceId: string } | { outcome: 'taken' } | { outcome: 'failed'; instanceId: string; epoch: number };

/**
 * A stored message as the resumed pipeline's history gets it (`messages` of `POST /v1/pipelines`):
 * an assistant message keeps the tool calls it made, and each is answered by `tool` messages.
 */
export type HistoryMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

/** A stored message as `history()` reads it. */
export interface StoredMessage {
  role: string;
  content: string;
  tool_calls: ToolCall[] | null;
  tool_call_id: string;
}

/**
 * The result given for a stored tool call whose result was never stored: the old pipeline died
 * between the call and its result, so whether the tool ran, and what it did, is unknown.
 */
export function interruptedToolResult(): string {
  return JSON.stringify({
    result: 'unknown',
    message: 'The session was interrupted (its voice pipeline stopped) before the result of this tool call was stored; whether it ran and what it did is unknown.',
  });
}

/**
 * The stored messages (oldest first) as a valid LLM history: system prompts, what the caller
 * and the AI said, and the AI's tool calls, each assistant message with tool calls followed
 * at once by the results that answer them, in the order of the calls (the caller may have
 * spoken while a tool ran, so a result can be stored after later words; placed later it would
 * read to the LLM as a call never answered). A call whose result is not stored (the crash came
 * between the call and its result) is completed with `interruptedToolResult()` rather than
 * dropped with its partial results: the LLM must know it may have acted already (booked, set
 * variables), which dropping would hide. A tool result whose call is not in the history is
 * dropped, and so is a second result for the same call; text messages without text too.
 */
export function resumedHistory(stored: readonly StoredMessage[]): HistoryMessage[] {
  const results = new Map<string, string>();
  for (const message of stored) {
    if (message.role === 'tool' && message.tool_call_id !== '' && !results.has(message.tool_call_id)) results.set(message.tool_call_id, message.content);
  }
  const history: HistoryMessage[] = [];
  const answered = new Set<string>();
  for (const message of stored) {
    const toolCalls = (message.tool_calls ?? []).filter((call) => !answered.has(call.id));
    if (message.role === 'assistant' && toolCalls.length > 0) {
      history.push({ role: 'assistant', content: message.content, tool_calls: toolCalls });
      for (const call of toolCalls) {
        answered.add(call.id);
        history.push({ role: 'tool', tool_call_id: call.id, content: results.get(call.id) ?? interruptedToolResult() });
      }
    } else if ((message.role === 'system' || message.role === 'user' || message.role === 'assistant') && message.content.trim() !== '') {
      history.push({ role: message.role, content: message.content });
    }
    // `tool` messages go in right after their call (above), or nowhere.
  }
  return history;
}

/** An AIcall's stored conversation, oldest first, as an LLM history (`resumedHistory`). */
export async function storedHistory(domain: DomainContext, aicallId: string): Promise<HistoryMessage[]> {
  const rows = await domain.db
    .selectFrom('aimessages')
    .select(['role', 'content', 'tool_calls', 'tool_call_id'])
    .where('aicall_id', '=', aicallId)
    .where('role', 'in', ['system', 'user', 'assistant', 'tool'])
    .orderBy('tm_create', 'asc')
    .orderBy('id', 'asc')
    .execute();
  return resumedHistory(rows);
}

/**
 * Whether the resumed session must apologise first: the caller's last words got no stored
 * answer (the turn was lost), or the old pipeline was speaking when it died (the answer was cut
 * and, reported only once played, is not stored).
 */
export function needsApology(history: readonly { role: string; content?: string }[], wasSpeaking: boolean): boolean {
  if (wasSpeaking) return true;
  // An assistant message that only called tools said nothing to the caller: it is no answer.
  const said = (message: { role: string; content?: string }) => message.role === 'user' || (message.role === 'assistant' && message.content?.trim() !== '');
  const last = history.filter(said).at(-1);
  return last?.role === 'user';
}

/**
 * Crash resumption: a live session whose pipeline-manager died is taken over by another live
 * instance. The AIcall stays the same (same id, billing, flow); its pipeline moves by a
 * compare-and-set on (instance, epoch) to the next epoch and a chosen instance, which starts a
 * pipeline with the stored conversation as history, no greeting, and, when a turn was lost,
 * the apology. Its media leg replaces the old one in the call's bridge (flow-manager), so the
 * call itself is never hung up. An instance that does not take it within `startTimeoutMs` is
 * passed over for the next (each attempt has its own epoch, so a late start is fenced).
 */
export class SessionResumer {
  private readonly logger: Logger;

  constructor(private readonly options: SessionResumeOptions) {
    this.logger = options.logger.child({ component: 'session-resume' });
  }

  /** Tries every live instance but `lostInstanceId`; never throws. */
  async resume(aicallId: string, lostInstanceId: string, why: string): Promise<ResumeOutcome> {
    const { domain } = this.options;
    const row = await findAicall(domain.db, aicallId).catch(() => undefined);
    if (!row || row.pipeline_instance_id !== lostInstanceId || (row.status !== 'initiating' && row.status !== 'progressing')) return { outcome: 'taken' };
    if (row.reference_type !== 'call' || !row.reference_id) return { outcome: 'failed', instanceId: lostInstanceId, epoch: row.pipeline_epoch };
    const wasSpeaking = this.options.instances.lastKnown(lostInstanceId, row.id)?.speaking ?? false;
    let current = { instanceId: lostInstanceId, epoch: row.pipeline_epoch };
    for (const target of this.options.instances.alive(lostInstanceId)) {
      const claimed = await claimPipeline(domain.db, row.id, current, target).catch((error: unknown) => {
        this.logger.warn({ err: error, aicallId: row.id }, 'could not claim the session for another pipeline');
        return null;
      });
      if (claimed === null) return { outcome: 'failed', ...current };
      if (!claimed) return { outcome: 'taken' };
      current = { instanceId: target, epoch: claimed.pipeline_epoch };
      const startedAt = Date.now();
      try {
        const apologised = await this.startOn(claimed, target, wasSpeaking);
        this.logger.warn(
          { aicallId: row.id, from: lostInstanceId, to: target, epoch: claimed.pipeline_epoch, startMs: Date.now() - startedAt, apologised, reason: why },
          'voice pipeline lost; the session resumed on another pipeline-manager',
        );
        await this.recordResumed(claimed, lostInstanceId, target, why).catch((error: unknown) =>
          this.logger.warn({ err: error, aicallId: row.id }, 'could not record the resumption'),
        );
        // Evidence is not certainty: should the old pipeline still run somewhere (a stall), it
        // must stop. Its epoch is refused already; this is the quicker way. Not awaited.
        void callPipeline(this.options, row, lostInstanceId, 'stop', { reason: 'another pipeline took the session over', pipeline_epoch: row.pipeline_epoch }, 1000).catch(
          () => undefined,
        );
        return { outcome: 'resumed', instanceId: target };
      } catch (error) {
        this.logger.warn({ aicallId: row.id, target, reason: isAppError(error) ? error.reason : String(error) }, 'a pipeline-manager did not take the session over; trying the next');
        // It may still start it late: that pipeline's epoch is passed over by the next attempt, and told to stop.
        void callPipeline(this.options, row, target, 'stop', { reason: 'another pipeline took the session over', pipeline_epoch: claimed.pipeline_epoch }, 1000).catch(
          () => undefined,
        );
      }
    }
    return { outcome: 'failed', ...current };
  }

  /** Starts the session's pipeline on `instanceId`; answers whether it apologises first. */
  private async startOn(row: AicallRow, instanceId: string, wasSpeaking: boolean): Promise<boolean> {
    const { domain } = this.options;
    // In parallel: every ms here is silence on the call.
    const [team, stored] = await Promise.all([currentTeamMember(domain, row), this.history(row.id)]);
    const ai = team ? { ...team.ai, parameter: teamParameter(team) } : await getAi(domain, row.customer_id, row.assistance_id);
    const apologise = needsApology(stored, wasSpeaking);
    const variables = () =>
      row.activeflow_id
        ? callFlowManager<{ variables: Record<string, string> }>(this.options, row.customer_id, 'GET', `/v1/variables/${row.activeflow_id}`).then((reply) => reply.variables)
        : Promise.resolve({});
    // A team's session goes on with the member answering when it was lost, under that member's prompts.
    const platformPrompt = stored[0]?.role === 'system' ? stored[0].content : '';
    const history = team ? memberHistory(stored, await memberPrompts(team, platformPrompt, variables)) : stored;
    await rpcCall(
      this.options.bus,
      'pipeline-manager',
      'POST',
      '/v1/pipelines',
      {
        aicall_id: row.id,
        customer_id: row.customer_id,
        activeflow_id: row.activeflow_id,
        call_id: row.reference_id,
        ai: await pipelineAiSettings(domain, row.customer_id, ai, variables),
        media_transport: ai.media_transport === '' ? null : ai.media_transport,
        messages: history,
        tools: team
          ? memberTools(team, this.options.tools)
          : (this.options.tools?.(ai.tool_names) ?? []).filter((tool) => tool.name !== 'search_knowledge' || ai.knowledgebase_ids.length > 0),
        greeting: false,
        pipeline_epoch: row.pipeline_epoch,
        resume: { say: apologise ? (this.options.apology ?? defaultResumeApology) : null },
        // The original deadline (ai_talk.duration): a takeover does not restart the clock.
        deadline_at: sessionDeadline(row),
      },
      { instanceId, publisher: this.options.serviceName, timeoutMs: this.options.startTimeoutMs ?? 5000 },
    );
    return apologise;
  }

  /**
   * The stored conversation, oldest first, as the new pipeline's LLM history: system prompts,
   * what the caller said, what the AI said and the tool calls it made with their results
   * (`resumedHistory`).
   */
  private history(aicallId: string): Promise<HistoryMessage[]> {
    return storedHistory(this.options.domain, aicallId);
  }

  /** A notification on the AIcall and the `aicall_resumed` event (webhooks, WebSocket). */
  private async recordResumed(row: AicallRow, from: string, to: string, why: string): Promise<void> {
    const { domain } = this.options;
    const reason = `the voice pipeline stopped unexpectedly (${why}); another pipeline-manager took the session over`;
    await withEvents(domain.db, domain.events, async (trx, emit) => {
      const current = await findAicall(trx, row.id);
      if (current) await emit('aicall_resumed', current.customer_id, { ...toAicall(current), reason });
    });
    await recordAimessage(domain, row.id, { role: 'notification', direction: 'incoming', content: `The session resumed: ${reason}.` });
    this.logger.debug({ aicallId: row.id, from, to }, 'resumption recorded');
  }
}
