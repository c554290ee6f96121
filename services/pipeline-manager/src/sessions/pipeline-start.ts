import { defaultNoInputMax, noInputMaxSchema, noInputTimeoutSchema, toolCallSchema, turnConfigSchema, vadConfigSchema } from '@avp/shared';
import { z } from 'zod';
import type { SessionLimitSettings } from '../pipeline/session-limits.ts';
import type { LlmMessage, LlmProvider, SttProvider, TtsProvider } from '../providers/types.ts';

/**
 * A message of the history a pipeline starts with (as ai-manager stores them): an assistant
 * message may carry the tool calls it made (its text may then be empty), answered by `tool`
 * messages naming the call (crash resumption carries them over).
 */
export const historyMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'user']), content: z.string() }),
  z.object({ role: z.literal('assistant'), content: z.string(), tool_calls: z.array(toolCallSchema).optional() }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string().min(1), content: z.string() }),
]);
export type HistoryMessage = z.infer<typeof historyMessageSchema>;

/** `POST /v1/pipelines`: start the voice pipeline of an AIcall on a call. */
export const pipelineStartSchema = z.object({
  aicall_id: z.uuid(),
  customer_id: z.uuid(),
  activeflow_id: z.uuid().nullable().default(null),
  /** flow-manager's call whose audio the pipeline takes over; null for a web session (`media_transport: web`). */
  call_id: z.uuid().nullable(),
  ai: z.object({
    engine_model: z.string(),
    engine_key: z.string().optional(),
    tts_type: z.string().default('local'),
    tts_voice_id: z.string().default(''),
    stt_type: z.string().default(''),
    stt_language: z.string().default(''),
    vad_config: vadConfigSchema.optional(),
    /** How the AI takes turns (end of turn, interruptions, stalls); omitted parts take the defaults. */
    turn_config: turnConfigSchema.optional(),
    /** The AI's free parameters; `stt_phrases` is what the offline `local` STT listens for. */
    parameter: z.record(z.string(), z.unknown()).default({}),
    /** Tried when the LLM stalls (turn_config.stall), with its own key. */
    fallback_engine_model: z.string().optional(),
    fallback_engine_key: z.string().optional(),
    /** Tried when the TTS stalls, and says the filler meanwhile; with its own voice. */
    fallback_tts_type: z.string().optional(),
    fallback_tts_voice_id: z.string().optional(),
    /** Seconds of caller silence, after the bot finished, before it re-prompts (0 or absent = off). */
    no_input_timeout: noInputTimeoutSchema.optional(),
    /** Re-prompts for silence before the session ends (stop_service); default 2. */
    no_input_max: noInputMaxSchema.optional(),
  }),
  /** System prompts and earlier messages, oldest first. */
  messages: z.array(historyMessageSchema).default([]),
  tools: z.array(z.object({ name: z.string(), description: z.string(), parameters: z.record(z.string(), z.unknown()) })).default([]),
  /**
   * How the call's audio reaches the pipeline; null = the deployment's default
   * (pipeline-manager's MEDIA_TRANSPORT). An AI's `media_transport` overrides it.
   */
  media_transport: z.enum(['rtp', 'websocket', 'web']).nullable().default(null),
  /**
   * `web`: the browser's microphone, relayed by ai-manager. The pipeline connects to this
   * WebSocket, which speaks Asterisk's WebSocket media protocol in slin16 (web-media.ts).
   */
  media_url: z.url({ protocol: /^wss?$/ }).optional(),
  /** Codec between Asterisk and the pipeline; default ulaw over RTP, slin16 over WebSocket (slin16 works over WebSocket only). */
  format: z.enum(['ulaw', 'alaw', 'slin16']).optional(),
  greeting: z.boolean().default(true),
  /**
   * The AIcall's pipeline epoch (ai-manager raises it at every takeover): carried by every report,
   * tool call and the end, so ai-manager refuses them once another pipeline took the AIcall over.
   */
  pipeline_epoch: z.number().int().min(0).default(0),
  /**
   * Crash resumption: this pipeline takes over a session whose pipeline-manager died (history in
   * `messages`, `greeting: false`). `say`: spoken first (the apology for a lost turn), or nothing.
   */
  resume: z.object({ say: z.string().trim().min(1).max(500).nullable().default(null) }).optional(),
  /**
   * When the session must end (`ai_talk.duration` after the AIcall started), as an absolute
   * time so a resumed pipeline keeps the original deadline; null = no limit.
   */
  deadline_at: z.iso.datetime({ offset: true }).nullable().default(null),
  /**
   * When > 0, the start waits (at most this long) for the greeting's first LLM output, and a
   * provider failure before it is a 500 PROVIDER_ERROR answer instead of a session that ends
   * right after starting (sessions started through the public API use it).
   */
  confirm_llm_ms: z.number().int().min(0).max(30_000).default(0),
});
export type PipelineStart = z.infer<typeof pipelineStartSchema>;

/**
 * The start's history as the conversation's LLM history, in the form the pipeline keeps its own
 * tool rounds in (an assistant message with `toolCalls`, then `tool` results naming the tool). A
 * tool result whose call is not earlier in the history is dropped: no LLM API takes it.
 */
export function toLlmHistory(messages: readonly HistoryMessage[]): LlmMessage[] {
  const calls = new Map<string, string>();
  const history: LlmMessage[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'assistant': {
        const toolCalls = (message.tool_calls ?? []).map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments }));
        for (const call of toolCalls) calls.set(call.id, call.name);
        history.push(toolCalls.length > 0 ? { role: 'assistant', content: message.content, toolCalls } : { role: 'assistant', content: message.content });
        break;
      }
      case 'tool': {
        const name = calls.get(message.tool_call_id);
        if (name !== undefined) history.push({ role: 'tool', toolCallId: message.tool_call_id, name, content: message.content });
        break;
      }
      default:
        history.push({ role: message.role, content: message.content });
    }
  }
  return history;
}

/** The conversation's limits from a start request; `now` is the wall clock the deadline is read against. */
export function sessionLimits(request: PipelineStart, now = Date.now()): SessionLimitSettings | undefined {
  const endAfterMs = request.deadline_at === null ? undefined : Date.parse(request.deadline_at) - now;
  const noInputTimeoutMs = Math.round((request.ai.no_input_timeout ?? 0) * 1000);
  if (endAfterMs === undefined && noInputTimeoutMs === 0) return undefined;
  return { ...(endAfterMs !== undefined ? { endAfterMs } : {}), noInputTimeoutMs, noInputMax: request.ai.no_input_max ?? defaultNoInputMax };
}

/** Refuses what Asterisk cannot carry: slin16 over RTP is dropped by Asterisk on receipt. */
export function checkMediaChoice(transport: 'rtp' | 'websocket' | 'web', format: PipelineStart['format'], request?: Pick<PipelineStart, 'call_id' | 'media_url'>): string | undefined {
  if (request && transport === 'web' && !request.media_url) return 'media_url: required with the web media transport';
  if (request && transport !== 'web' && request.call_id === null) return 'call_id: required with the rtp and websocket media transports';
  if (transport === 'web' && format !== undefined && format !== 'slin16') return 'format: the web media transport carries slin16 only';
  return transport === 'rtp' && format === 'slin16' ? 'format slin16 works over the websocket media transport only; use ulaw or alaw over rtp' : undefined;
}

/** How a session gets its providers (the registry in production; doubles in tests). */
export interface ProviderSource {
  llm(ai: PipelineStart['ai'], messages: LlmMessage[]): LlmProvider;
  stt(ai: PipelineStart['ai']): SttProvider;
  tts(ai: PipelineStart['ai']): TtsProvider;
}
