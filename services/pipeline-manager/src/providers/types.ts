/**
 * The provider contracts the conversation pipeline programs against. Every stream is an
 * async iterable of tagged events and every call takes an AbortSignal; aborting the signal
 * ends the stream (the iterator throws the abort reason). Provider failures are thrown as
 * `ProviderError` (see provider-error.ts) once the resilience wrapper has classified them.
 */

/** One message of the conversation as every LLM family sees it. */
export type LlmMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: LlmToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

/** A complete tool call: `arguments` is the JSON text the model produced. */
export interface LlmToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A tool offered to the model; `parameters` is a JSON Schema object. */
export interface LlmToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** One LLM request; `signal` aborts it (barge-in, hang-up). */
export interface LlmRequest {
  messages: LlmMessage[];
  tools?: LlmToolDefinition[];
  signal?: AbortSignal;
  temperature?: number;
  maxOutputTokens?: number;
}

/** Why the model stopped. */
export type LlmFinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'other';

/**
 * The events of one LLM response, in order. A tool call streams as `tool-call-start`, any
 * number of `tool-call-delta` (argument JSON fragments), then one `tool-call` with the
 * complete arguments. `usage` comes once before `done`.
 */
export type LlmEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'tool-call-start'; id: string; name: string }
  | { type: 'tool-call-delta'; id: string; argumentsDelta: string }
  | { type: 'tool-call'; id: string; name: string; arguments: string }
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  | { type: 'done'; finishReason: LlmFinishReason };

/** A streaming chat model with tool calls. */
export interface LlmProvider {
  /** `<provider>.<model>`, as in `engine_model`. */
  readonly name: string;
  stream(request: LlmRequest): AsyncIterable<LlmEvent>;
}

/** Options for one speech-to-text session. Audio is 16-bit mono PCM. */
export interface SttStartOptions {
  /** BCP-47 tag such as `en-US`, or '' to let the vendor detect the language. */
  language: string;
  /** Sample rate of the PCM given to `write`; the pipeline uses 16 000. */
  sampleRate: number;
  signal?: AbortSignal;
}

/**
 * Events of one STT session: `interim` results may change, `final` ones do not;
 * `endpoint` means the vendor thinks the speaker finished the utterance.
 */
export type SttEvent =
  | { type: 'interim'; text: string; language?: string; confidence?: number }
  | { type: 'final'; text: string; language?: string; confidence?: number }
  | { type: 'endpoint' }
  | { type: 'usage'; audioSeconds: number }
  | { type: 'error'; error: Error };

/** A live transcription session. */
export interface SttSession {
  /** Sends audio (16-bit mono PCM at the session's sample rate). Never blocks. */
  write(pcm: Int16Array): void;
  /** Asks for the last results and ends the session; `events` ends after them. */
  finish(): Promise<void>;
  /** Ends now, dropping pending results. */
  close(): void;
  readonly events: AsyncIterable<SttEvent>;
}

/** A streaming speech-to-text engine. */
export interface SttProvider {
  readonly name: string;
  /** Resolves once the vendor connection is open. */
  start(options: SttStartOptions): Promise<SttSession>;
}

/** Options shared by one TTS session's sentences. */
export interface TtsOptions {
  voiceId: string;
  /** BCP-47 tag or ''. */
  language: string;
  signal?: AbortSignal;
}

/**
 * Events of a TTS session: audio is always 16-bit mono PCM at 16 kHz (any length; the
 * media engine cuts frames). `text-end` says all audio of the text pushed with that index
 * has been delivered; `usage` counts characters sent to the vendor.
 */
export type TtsEvent =
  | { type: 'audio'; pcm: Int16Array; textIndex: number }
  | { type: 'text-end'; textIndex: number }
  | { type: 'usage'; characters: number };

/**
 * One bot turn's speech: push text sentence by sentence as the LLM writes it, then `end`.
 * `events` ends after the audio of the last text.
 */
export interface TtsSession {
  /** Queues text; returns its index (0, 1, ...). */
  push(text: string): number;
  /** No more text will come. */
  end(): void;
  readonly events: AsyncIterable<TtsEvent>;
}

/** A text-to-speech engine; output is 16 kHz PCM whatever the vendor produces. */
export interface TtsProvider {
  readonly name: string;
  open(options: TtsOptions): TtsSession;
}

/** The pipeline's sample rate. */
export const PIPELINE_SAMPLE_RATE = 16_000;
