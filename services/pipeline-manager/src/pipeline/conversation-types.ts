import type { TurnConfig, VadConfig } from '@avp/shared';
import type { AudioFrame } from '../media/audio-format.ts';
import type { MediaTransport } from '../media/media-transport.ts';
import type { VadEvent } from '../media/vad/voice-activity-detector.ts';
import type { SessionLimitSettings } from './session-limits.ts';
import type { LlmMessage, LlmProvider, LlmToolCall, LlmToolDefinition, SttProvider, TtsProvider } from '../providers/types.ts';

/** What the conversation needs of a voice activity detector (the media engine's fits). */
export interface ConversationVad {
  process(frame: AudioFrame): Promise<readonly VadEvent[]>;
  /** Takes another AI's settings from the next window on (a team hand-over); absent: the VAD keeps its own. */
  configure?(config: VadConfig): void;
}

/** The result of one tool call, as ai-manager's tool execution answers. */
export interface ToolExecution {
  /** The text (JSON) given back to the LLM. */
  result: string;
  /** Whether the LLM runs again after this tool. */
  runLlm: boolean;
  /** Set by tools that end the session (stop_service, stop_flow, connect_call). */
  endSession?: string;
}

/** A team's session moving to another member (Conversation.switchMember). */
export interface MemberSwitch {
  llm: LlmProvider;
  tts: TtsProvider;
  voiceId: string;
  tools: LlmToolDefinition[];
  /** The member's system prompts, in place of the leading system messages of the history. */
  systemMessages: string[];
  fallbackLlm?: LlmProvider;
  fallbackTts?: TtsProvider;
  /** The member's language (its `stt_language`): what the caller is heard in and the bot speaks. */
  language: string;
  /** The member's recogniser, when it differs from the one listening (type, language or phrases); absent: the caller's STT stays. */
  stt?: SttProvider;
  /** The member's `turn_config` (end of turn, interruptions, stalls); absent: the defaults. */
  turnConfig?: TurnConfig;
  /** The member's `vad_config`; absent: the defaults. */
  vadConfig?: VadConfig;
}

/** Timestamps (ms on the conversation's clock) of one turn, from the caller's silence to our first audio. */
export interface TurnLatency {
  turn: number;
  userStoppedAt?: number;
  /** Where the VAD says the caller's speech ended (before its stop wait). */
  speechEndedAt?: number;
  sttFinalAt?: number;
  /** When the end of the caller's turn was decided (see end-of-turn.ts). */
  turnEndAt?: number;
  /** The answer was prepared before the end of turn and played when it was confirmed. */
  preemptive?: boolean;
  llmRequestAt?: number;
  llmFirstTokenAt?: number;
  ttsFirstByteAt?: number;
  firstAudioAt?: number;
}

/** What the conversation reports as it goes (to be persisted and published by the caller). */
export type ConversationEvent =
  | { type: 'user_transcript'; turn: number; text: string }
  | { type: 'assistant_text'; turn: number; text: string; final: boolean }
  | { type: 'assistant_message'; turn: number; text: string; interrupted: boolean; toolCalls: LlmToolCall[] }
  | { type: 'tool_call'; turn: number; call: LlmToolCall }
  | { type: 'tool_result'; turn: number; call: LlmToolCall; result: string }
  /** Provider use, metered once; `discarded`: spent on an answer prepared ahead and thrown away. */
  | { type: 'usage'; kind: 'llm' | 'stt' | 'tts'; provider: string; inputTokens?: number; outputTokens?: number; characters?: number; audioSeconds?: number; discarded?: boolean }
  | ({ type: 'turn_latency' } & TurnLatency)
  | { type: 'barge_in'; turn: number; heardText: string; decidedAt: number; stoppedAt: number }
  /**
   * Caller sound over the bot, classified: `real` stopped the bot, `backchannel` ("mhm",
   * a short noise, the bot's own echo) did not, `false` stopped it but was no speech after all
   * (the bot went on with its answer).
   */
  | { type: 'interruption'; turn: number; kind: 'real' | 'backchannel' | 'false' }
  /** A provider gave nothing in time: what was done about it (for metrics and the log). */
  | { type: 'stall'; turn: number; stage: 'llm' | 'tts'; action: 'filler' | 'retry' | 'fallback' | 'gave_up'; provider: string }
  /** An answer prepared ahead of the end of turn, thrown away because the caller went on. */
  | { type: 'preemptive_discarded'; turn: number; usage?: { inputTokens: number; outputTokens: number; characters: number } }
  | { type: 'ended'; reason: string; error?: { category: string; message: string; provider?: string } };

export interface ConversationOptions {
  transport: MediaTransport;
  vad: ConversationVad;
  stt: SttProvider;
  llm: LlmProvider;
  tts: TtsProvider;
  /** Tried when `llm` stalled twice (the AI's fallback_engine_model); see stall-watchdog.ts. */
  fallbackLlm?: LlmProvider;
  /** Tried when `tts` stalled twice, and says the filler while `tts` is retried (the AI's fallback_tts_type). */
  fallbackTts?: TtsProvider;
  /** BCP-47 tag or '' (auto). */
  language: string;
  voiceId: string;
  /** The history to start from: system prompts first (and earlier messages, if any). */
  messages: LlmMessage[];
  tools: LlmToolDefinition[];
  executeTool(call: LlmToolCall): Promise<ToolExecution>;
  onEvent(event: ConversationEvent): void;
  /** What ends the caller's turn: STT endpointing, VAD silence, or whichever comes first (default). */
  turnEnd?: 'stt' | 'vad' | 'either';
  /** Voiced caller speech over the bot before it can stop the bot, in ms; `turnConfig.interruption.min_secs` wins (default 500). */
  interruptionMinMs?: number;
  /** The bot speaks first (default true). */
  greeting?: boolean;
  /** How often streamed assistant text is reported (default 200 ms). */
  intermediateIntervalMs?: number;
  /** Tool rounds in one turn before the turn is cut short (default 5). */
  maxToolRounds?: number;
  /** The AI's `turn_config` (end of turn, interruptions, stalls); missing parts take the defaults. */
  turnConfig?: TurnConfig;
  /** The session's time limit and no-input re-prompts (session-limits.ts); absent = none. */
  limits?: SessionLimitSettings;
  now?: () => number;
}
