import { randomUUID } from 'node:crypto';
import { appError, rpcCall, type Bus, type Logger } from '@avp/shared';
import type { MediaTransport } from '../media/media-transport.ts';
import type { VadEngine } from '../media/vad/speech-probability.ts';
import { createVoiceActivityDetector } from '../media/vad/voice-activity-detector.ts';
import type { LlmMessage, LlmToolCall } from '../providers/types.ts';
import { Conversation, type ConversationEvent, type ConversationVad, type ToolExecution } from '../pipeline/conversation.ts';
import { ConversationReports, type ReportingSession } from './conversation-reports.ts';
import { connectCallMedia, type MediaTransportKind } from './media-connection.ts';
import { realInboundFrames, type LivenessTarget } from './pipeline-liveness.ts';
import { checkMediaChoice, sessionLimits, toLlmHistory, type PipelineStart, type ProviderSource } from './pipeline-start.ts';
import { confirmFirstOutput, fallbackProviders, providerFailure, watchFirstOutput } from './provider-start.ts';
import { ReportOutbox } from './report-outbox.ts';
import { buildMemberSwitch, memberSwitchSchema } from './member-switch.ts';

export { pipelineStartSchema, type PipelineStart, type ProviderSource } from './pipeline-start.ts';

export interface PipelineSessionsOptions {
  bus: Bus;
  logger: Logger;
  instanceId: string;
  providers: ProviderSource;
  /** Address the RTP sockets bind to and give Asterisk (default 127.0.0.1). */
  mediaHost?: string;
  /** Media transport when the request names none (default rtp). */
  mediaTransport?: MediaTransportKind;
  /** VAD engine (default silero). */
  vadEngine?: VadEngine;
  /** A VAD of its own for each session (tests); overrides `vadEngine`. */
  createVad?: (config: PipelineStart['ai']['vad_config']) => Promise<ConversationVad>;
  /** Publisher name for events (default pipeline-manager). */
  serviceName?: string;
  /** Where reports to ai-manager wait until delivered (default: one of its own, without metrics). */
  reports?: ReportOutbox;
  /** Sees every conversation event of every session (turn metrics, see turn-metrics.ts). */
  onConversationEvent?: (event: ConversationEvent) => void;
}

/** What `GET /v1/pipelines[/:id]` tells about a running pipeline. */
export interface PipelineInfo {
  pipeline_id: string;
  aicall_id: string;
  /** null for a web session (no call). */
  call_id: string | null;
  instance_id: string;
  started_at: string;
  /** The AIcall's pipeline epoch this pipeline runs under (crash resumption's fencing). */
  pipeline_epoch: number;
}

interface Session extends ReportingSession {
  transport: MediaTransport;
  /** The external media leg's channel (removing the media names it). */
  mediaChannelId: string | undefined;
  conversation: Conversation;
  startedAt: number;
  /** The settings of the member whose recogniser hears the caller, once a team member switched it (else the start's). */
  listening?: PipelineStart['ai'];
}

/**
 * The live pipelines of this process: each takes over a call's audio through an RTP
 * external media leg (asked of flow-manager), runs a Conversation, and reports everything
 * to ai-manager over the bus in order (messages, streamed text, usage, status). A pipeline
 * ends once: by the conversation (tool, provider failure, media gone) or by a stop request.
 */
export class PipelineSessions {
  private readonly sessions = new Map<string, Session>();
  /**
   * Ended pipelines whose pipeline_terminated is not out yet: still listed, so ai-manager's
   * watchdog does not take a normal end (slowed by an unreachable flow-manager) for a lost one.
   */
  private readonly finishing = new Map<string, Session>();
  private readonly logger: Logger;
  private readonly serviceName: string;
  private readonly reports: ReportOutbox;
  private readonly reporting: ConversationReports;

  constructor(private readonly options: PipelineSessionsOptions) {
    this.logger = options.logger.child({ component: 'pipelines' });
    this.serviceName = options.serviceName ?? 'pipeline-manager';
    this.reports = options.reports ?? new ReportOutbox({ logger: this.logger });
    this.reporting = new ConversationReports({ bus: options.bus, logger: this.logger, serviceName: this.serviceName, reports: this.reports });
  }

  get size(): number {
    return this.sessions.size;
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  /** The pipelines this process runs (ai-manager's watchdog asks for them to notice lost ones). */
  list(): PipelineInfo[] {
    return [...this.sessions.values(), ...this.finishing.values()].map((session) => this.info(session));
  }

  /** What this process's heartbeat says about its pipelines (instance-heartbeat.ts). */
  heartbeat(): { aicall_id: string; pipeline_epoch: number; speaking: boolean }[] {
    return [...this.sessions.values()].map((session) => ({
      aicall_id: session.id,
      pipeline_epoch: session.request.pipeline_epoch,
      speaking: session.conversation.speaking,
    }));
  }

  /** The running pipelines as the liveness check sees them (pipeline-liveness.ts). */
  livenessTargets(): LivenessTarget[] {
    return [...this.sessions.values()].map((session) => ({
      id: session.id,
      customerId: session.request.customer_id,
      callId: session.request.call_id,
      epoch: session.request.pipeline_epoch,
      mediaFrames: () => realInboundFrames(session.transport.stats()),
      stop: (reason, error) => session.conversation.stop(reason, error),
    }));
  }

  /** One pipeline of this process (404 when it does not run here). */
  describe(id: string): PipelineInfo {
    const session = this.running(id);
    return this.info(session);
  }

  /** The session of a pipeline of this process (404 when it does not run here). */
  private running(id: string): Session {
    const session = this.sessions.get(id);
    if (!session) throw appError('RESOURCE_NOT_FOUND', `No pipeline ${id} runs here.`);
    return session;
  }

  /**
   * 404 unless the pipeline runs here for this customer: the bus routes on a pipeline name
   * the customer they act for, and another customer's pipeline answers like a missing one.
   */
  assertOwner(id: string, customerId: string): void {
    if (this.running(id).request.customer_id.toLowerCase() !== customerId.toLowerCase()) throw appError('RESOURCE_NOT_FOUND', `No pipeline ${id} runs here.`);
  }

  private info(session: Session): PipelineInfo {
    return {
      pipeline_id: session.id,
      aicall_id: session.request.aicall_id,
      call_id: session.request.call_id,
      instance_id: this.options.instanceId,
      started_at: new Date(session.startedAt).toISOString(),
      pipeline_epoch: session.request.pipeline_epoch,
    };
  }

  async start(request: PipelineStart): Promise<{ pipeline_id: string; instance_id: string }> {
    const id = request.aicall_id;
    if (this.sessions.has(id)) throw appError('RESOURCE_ALREADY_EXISTS', `A pipeline for AIcall ${id} is running.`);
    const { providers } = this.options;
    const kind = request.media_transport ?? this.options.mediaTransport ?? 'rtp';
    const refusal = checkMediaChoice(kind, request.format, request);
    if (refusal) throw appError('VALIDATION_FAILED', refusal);
    const { transport, channelId } = await connectCallMedia(request, kind, {
      bus: this.options.bus,
      logger: this.logger,
      serviceName: this.serviceName,
      rtpAddress: this.options.mediaHost ?? '127.0.0.1',
    });
    try {
      const vad: ConversationVad = this.options.createVad
        ? await this.options.createVad(request.ai.vad_config)
        : await createVoiceActivityDetector({ engine: this.options.vadEngine ?? 'silero', config: request.ai.vad_config });
      const messages: LlmMessage[] = toLlmHistory(request.messages);
      const session: Session = {
        id,
        request,
        transport,
        mediaChannelId: channelId,
        conversation: undefined as unknown as Conversation,
        intermediateId: randomUUID(),
        intermediateSequence: 0,
        startedAt: Date.now(),
        latencies: new Map(),
      };
      const watched = watchFirstOutput(providerFailure(() => providers.llm(request.ai, messages)));
      session.conversation = new Conversation({
        transport,
        vad,
        stt: providerFailure(() => providers.stt(request.ai)),
        llm: watched.llm,
        tts: providers.tts(request.ai),
        ...fallbackProviders(providers, request.ai, messages, (message, error) => this.logger.warn({ aicallId: id, err: error }, message)),
        language: request.ai.stt_language,
        voiceId: request.ai.tts_voice_id,
        messages,
        tools: request.tools,
        greeting: request.greeting,
        ...(request.ai.turn_config ? { turnConfig: request.ai.turn_config } : {}),
        limits: sessionLimits(request),
        executeTool: (call) => this.executeTool(session, call),
        onEvent: (event) => this.onEvent(session, event),
      });
      this.sessions.set(id, session);
      this.logger.info({ aicallId: id, callId: request.call_id, media: kind, codec: transport.codec, epoch: request.pipeline_epoch, resumed: request.resume !== undefined }, 'pipeline started');
      const starting = session.conversation.start();
      // A resumed session (crash resumption) greets no one: it apologises for a lost turn, or
      // listens. The apology starts while speech recognition opens: it is the caller's gap.
      if (request.resume?.say) session.conversation.say(request.resume.say);
      await starting;
      if (request.confirm_llm_ms > 0 && request.greeting) await confirmFirstOutput(watched.first, request.confirm_llm_ms);
      this.reporting.report(session, 'status', (reportId) =>
        this.reporting.aiManager('POST', `/v1/aicalls/${id}/status`, { customer_id: request.customer_id, status: 'progressing', report_id: reportId, pipeline_epoch: request.pipeline_epoch }),
      );
      return { pipeline_id: id, instance_id: this.options.instanceId };
    } catch (error) {
      this.sessions.delete(id);
      await transport.close().catch(() => undefined);
      await this.stopMedia(request, channelId);
      throw error;
    }
  }

  /**
   * Ends a pipeline (idempotent: an unknown id is a 404). With `epoch`, only the pipeline of that
   * epoch (a stop meant for a replaced pipeline never ends its successor): another is a 404.
   */
  async stop(id: string, reason: string, epoch?: number): Promise<void> {
    const session = this.running(id);
    if (epoch !== undefined && session.request.pipeline_epoch !== epoch) throw appError('RESOURCE_NOT_FOUND', `No pipeline ${id} of epoch ${epoch} runs here.`);
    await session.conversation.stop(reason);
    await this.reports.drained(id);
  }

  /**
   * Ends a pipeline with `reason`, first saying `say` when given (billing's goodbye). Answers
   * at once; the pipeline ends after the goodbye has played (404 when it does not run here).
   */
  end(id: string, reason: string, say?: string): void {
    const session = this.running(id);
    const ending = say ? session.conversation.sayAndStop(say, reason) : session.conversation.stop(reason);
    ending.catch((error: unknown) => this.logger.warn({ err: error, aicallId: id }, 'ending the pipeline failed'));
  }

  /** Text into a live session (an injected message): answered by voice. */
  sendText(id: string, text: string): void {
    const session = this.running(id);
    session.conversation.sendText(text);
  }

  dtmf(id: string, digit: string): void {
    const session = this.running(id);
    session.conversation.dtmf(digit);
  }

  /** Stops every pipeline (process shutdown). */
  async stopAll(reason: string): Promise<void> {
    await Promise.allSettled([...this.sessions.keys()].map((id) => this.stop(id, reason)));
  }

  private async executeTool(session: Session, call: LlmToolCall): Promise<ToolExecution> {
    await this.reports.drained(session.id); // The tool call message is stored (or given up) before the tool runs.
    const answer = await rpcCall<{ result?: string; message?: string; run_llm?: boolean; end_session?: string; switch_member?: unknown }>(
      this.options.bus,
      'ai-manager',
      'POST',
      `/v1/aicalls/${session.id}/tool_execute`,
      { customer_id: session.request.customer_id, id: call.id, name: call.name, arguments: call.arguments, pipeline_epoch: session.request.pipeline_epoch },
      { publisher: this.serviceName, timeoutMs: 30_000 },
    );
    // A team's transition: the settings of the member who answers from now on (never shown to the LLM).
    const { switch_member: switchMember, ...reply } = answer;
    if (switchMember !== undefined) {
      const settings = memberSwitchSchema.parse(switchMember);
      const listening = session.listening ?? session.request.ai;
      const change = buildMemberSwitch(this.options.providers, settings, (message, error) => this.logger.warn({ aicallId: session.id, err: error }, message), listening);
      const switched = await session.conversation.switchMember(change);
      if (switched.stt === 'switched') session.listening = settings.ai;
      if (switched.stt === 'failed') {
        this.logger.warn({ aicallId: session.id, memberId: settings.member_id, sttType: settings.ai.stt_type, err: switched.error }, "the new member's recogniser could not start; the caller is still heard by the previous one");
      }
      this.logger.info(
        { aicallId: session.id, memberId: settings.member_id, engineModel: settings.ai.engine_model, ttsType: settings.ai.tts_type, sttType: settings.ai.stt_type, language: settings.ai.stt_language, stt: switched.stt },
        'team member switched',
      );
    }
    return {
      result: JSON.stringify(reply),
      runLlm: reply.run_llm ?? true,
      ...(reply.end_session ? { endSession: reply.end_session } : {}),
    };
  }

  private onEvent(session: Session, event: ConversationEvent): void {
    this.options.onConversationEvent?.(event);
    this.logTurn(session, event);
    if (event.type === 'ended') void this.finish(session, event.reason, event.error);
    else this.reporting.onEvent(session, event);
  }

  /** What happens in the conversation, one line per step (sizes only: the words are the customer's, logged at debug). */
  private logTurn(session: Session, event: ConversationEvent): void {
    const base = { aicallId: session.id, turn: 'turn' in event ? event.turn : undefined };
    switch (event.type) {
      case 'user_transcript':
        this.logger.info({ ...base, words: event.text.split(/\s+/).filter(Boolean).length }, 'caller turn');
        this.logger.debug({ ...base, text: event.text }, 'caller said');
        break;
      case 'assistant_message':
        this.logger.info({ ...base, characters: event.text.length, interrupted: event.interrupted, toolCalls: event.toolCalls.length }, 'answer heard');
        break;
      case 'interruption':
        this.logger.info({ ...base, kind: event.kind }, 'interruption');
        break;
      default:
        break;
    }
  }

  private async finish(session: Session, reason: string, error?: { category: string; message: string }): Promise<void> {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    this.finishing.set(session.id, session);
    try {
      await this.wrapUp(session, reason, error);
    } finally {
      this.finishing.delete(session.id);
    }
  }

  /** Closes the media, removes the leg, then publishes pipeline_terminated; resolves once that is out (or given up). */
  private async wrapUp(session: Session, reason: string, error?: { category: string; message: string }): Promise<void> {
    await session.transport.close().catch(() => undefined);
    await this.stopMedia(session.request, session.mediaChannelId);
    this.logger.info({ aicallId: session.id, reason, durationMs: Date.now() - session.startedAt }, 'pipeline ended');
    // Last on the AIcall's report stream (after everything it said was stored or given up), and
    // retried like a report: ai-manager ends the session and gives the flow back on it.
    const terminated = { aicall_id: session.id, call_id: session.request.call_id, reason, error: error ?? null, pipeline_epoch: session.request.pipeline_epoch };
    this.reporting.report(session, 'event', () => this.options.bus.publish(this.serviceName, { type: 'pipeline_terminated', data: terminated }), { essential: true });
    await this.reports.drained(session.id);
  }

  /**
   * Removes the call's external media leg (flow-manager checks the call is the customer's). Naming
   * the leg's channel removes only this pipeline's own leg: after a takeover the call's leg is
   * the successor's, which a replaced pipeline must leave alone.
   */
  private async stopMedia(request: PipelineStart, channelId: string | undefined): Promise<void> {
    const callId = request.call_id;
    if (callId === null) return; // A web session has no call and no leg.
    const body = { customer_id: request.customer_id, ...(channelId ? { channel_id: channelId } : {}) };
    await rpcCall(this.options.bus, 'flow-manager', 'DELETE', `/v1/calls/${callId}/external_media`, body, { publisher: this.serviceName }).catch(
      (error: unknown) => this.logger.warn({ err: error, callId }, 'could not remove the external media leg'),
    );
  }
}
