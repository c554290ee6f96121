import type { JsonbColumn, TimestampColumns } from '@avp/shared';
import type { AimessageLatency, ToolCall, TurnConfig, VadConfig } from '@avp/shared';
import type { ColumnType, Generated, Kysely, RawBuilder, Transaction } from 'kysely';

/** `customers`: one row per customer; `webhook_uri` empty = no webhooks. */
export interface CustomersTable extends TimestampColumns {
  id: string;
  name: string;
  detail: string;
  webhook_uri: string;
  webhook_secret: string;
}

/** `access_keys`: only the SHA-256 of a key is stored; revoking sets `tm_delete`. */
export interface AccessKeysTable extends TimestampColumns {
  id: string;
  customer_id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
}

/** `ais`: `engine_key_encrypted` holds the AES-256-GCM form of the write-only engine_key. */
export interface AisTable extends TimestampColumns {
  id: string;
  customer_id: string;
  name: string;
  detail: string;
  engine_model: string;
  parameter: JsonbColumn<Record<string, unknown>>;
  engine_key_encrypted: string | null;
  init_prompt: string;
  tts_type: string;
  tts_voice_id: string;
  stt_type: string;
  stt_language: string;
  tool_names: JsonbColumn<string[]>;
  vad_config: JsonbColumn<VadConfig>;
  smart_turn_enabled: boolean;
  /** How the AI takes turns (`{}`: the pipeline's defaults). */
  turn_config: ColumnType<TurnConfig, RawBuilder<TurnConfig> | undefined, RawBuilder<TurnConfig>>;
  /** '' (the deployment's default), 'rtp' or 'websocket'. */
  media_transport: Generated<string>;
  /** The knowledge bases search_knowledge searches (ids of live knowledge bases of the customer). */
  knowledgebase_ids: ColumnType<string[], RawBuilder<string[]> | undefined, RawBuilder<string[]>>;
  /** The providers tried when the AI's own stall ('' = none); the key encrypted like engine_key. */
  fallback_engine_model: Generated<string>;
  fallback_engine_key_encrypted: ColumnType<string | null, string | null | undefined, string | null>;
  fallback_tts_type: Generated<string>;
  fallback_tts_voice_id: Generated<string>;
  /** Seconds of caller silence before the AI re-prompts (0 = off), and re-prompts before it ends the session. */
  no_input_timeout: Generated<number>;
  no_input_max: Generated<number>;
  /**
   * An inline AI (the settings an `ai_talk` / `ai_task` action carries; migration 0021): what
   * owns it (`flow`, `activeflow`, `calls`), the owner's id and the action's id. Null for an AI
   * made through `/v1.0/ais`; an inline AI is hidden from those routes.
   */
  inline_owner_type: ColumnType<string | null, string | null | undefined, string | null>;
  inline_owner_id: ColumnType<string | null, string | null | undefined, string | null>;
  inline_action_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** An activeflow's or outgoing calls' inline AI whose owner can start no more sessions: deleted once none runs it (migration 0023). */
  inline_owner_ended: ColumnType<boolean, boolean | undefined, boolean>;
}

/** `aicalls`: one AI session and its state. */
export interface AicallsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  assistance_type: string;
  assistance_id: string;
  ai_engine_model: string;
  ai_tts_type: string;
  ai_tts_voice_id: string;
  ai_stt_type: string;
  ai_vad_config: JsonbColumn<VadConfig>;
  ai_smart_turn_enabled: boolean;
  ai_turn_config: ColumnType<TurnConfig, RawBuilder<TurnConfig> | undefined, RawBuilder<TurnConfig>>;
  ai_fallback_engine_model: Generated<string>;
  ai_fallback_tts_type: Generated<string>;
  ai_fallback_tts_voice_id: Generated<string>;
  /** The AI's no-input settings when the session started. */
  ai_no_input_timeout: Generated<number>;
  ai_no_input_max: Generated<number>;
  /** The session's time limit in seconds from tm_create (`ai_talk.duration`; 0 = none). */
  duration: Generated<number>;
  stt_language: string;
  parameter: JsonbColumn<Record<string, unknown>>;
  activeflow_id: string | null;
  reference_type: string;
  reference_id: string | null;
  status: string;
  tm_end: string | null;
  /** The pipeline-manager instance running the session's pipeline (null: none, or it was lost). */
  pipeline_instance_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Raised by every takeover of the pipeline (crash resumption); reports of an older epoch are refused. */
  pipeline_epoch: ColumnType<number, number | undefined, number>;
  /** Text conversations: the answer the AIcall waits for; an older turn's answer and tool calls are refused. */
  text_turn_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** A team's session: the member answering now and its AI (null for a single AI; migration 0022). */
  current_member_id: ColumnType<string | null, string | null | undefined, string | null>;
  current_ai_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A team member as stored in `teams.members`. */
export interface TeamMemberColumn {
  id: string;
  name: string;
  ai_id: string;
  transitions: { function_name: string; description: string; next_member_id: string }[];
}

/** `teams`: AIs that hand a conversation to each other (migration 0022). */
export interface TeamsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  name: string;
  detail: string;
  start_member_id: string;
  members: JsonbColumn<TeamMemberColumn[]>;
  parameter: JsonbColumn<Record<string, unknown>>;
}

/** `aimessages`: the messages of an AIcall. */
export interface AimessagesTable extends TimestampColumns {
  id: string;
  customer_id: string;
  aicall_id: string;
  activeflow_id: string | null;
  active_ai_id: string | null;
  role: string;
  content: string;
  direction: string;
  tool_calls: JsonbColumn<ToolCall[]>;
  tool_call_id: string;
  latency: ColumnType<AimessageLatency | null, RawBuilder<AimessageLatency | null> | undefined, RawBuilder<AimessageLatency | null>>;
  /** The pipeline's idempotency key of the report that stored it (null for messages from the API). */
  report_id: string | null;
}

/** `aisummaries`. */
export interface AisummariesTable extends TimestampColumns {
  id: string;
  customer_id: string;
  activeflow_id: string | null;
  on_end_flow_id: string | null;
  reference_type: string;
  reference_id: string;
  status: string;
  language: string;
  content: string;
  /** The transcription summarised (migration 0019). */
  transcribe_id: string | null;
  /** The customer's AI that writes it; null = the platform's default engine. */
  ai_id: string | null;
  /** Why it failed; '' unless `failed`. */
  failure_reason: string;
  /** When a writer claimed it (null: none yet); a stale claim is taken over. */
  tm_generate: ColumnType<string | null, string | null | undefined, RawBuilder<unknown> | null>;
}

/** A pipeline-manager transcriber hearing one direction of a transcription. */
export interface TranscriberRef {
  direction: string;
  transcriber_id: string;
  instance_id: string;
  /** A recording's transcriber that has heard the whole file. */
  finished?: boolean;
  /** What the transcriber was started with, to start it again elsewhere if its pipeline-manager is lost. */
  origin_ms?: number;
  phrases?: string[];
}

/** `transcribes`: live transcriptions of calls; `transcribers` are pipeline-manager's, one per direction. */
export interface TranscribesTable extends TimestampColumns {
  id: string;
  customer_id: string;
  reference_type: string;
  reference_id: string;
  language: string;
  direction: string;
  status: string;
  transcribers: ColumnType<TranscriberRef[], RawBuilder<TranscriberRef[]> | undefined, RawBuilder<TranscriberRef[]>>;
}

/** `transcripts`: what a transcription heard, one utterance per row. */
export interface TranscriptsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  transcribe_id: string;
  direction: string;
  message: string;
  offset_ms: number;
}

/**
 * `webhook_deliveries`: the webhook outbox. A row is written in the same transaction as the
 * change it reports; the dispatcher claims due rows by pushing `next_attempt_at` forward
 * (a lease), so a crash mid-delivery only delays the row, never loses it.
 */
export interface WebhookDeliveriesTable extends TimestampColumns {
  id: string;
  customer_id: string;
  event_type: string;
  /** The exact JSON text that is POSTed and signed. */
  body: string;
  uri: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string;
  /** The event it delivers (`x-avp-event-id`; null only for rows from before 0012). */
  event_id: ColumnType<string | null, string | undefined, never>;
  /** The event's sequence number for its customer: the order of deliveries of one key. */
  event_seq: ColumnType<number, number | undefined, never>;
  /** The resource whose webhooks go out one at a time in order ('' = none). */
  ordering_key: ColumnType<string, string | undefined, never>;
}

/**
 * `event_outbox`: bus events written with the change they report, marked `published_at` once
 * published and kept for the WebSocket replay window; rows left by a process that died before
 * publishing are published by the relay.
 */
export interface EventOutboxTable {
  /** The event's id (stable: every copy and webhook of the event carries it). */
  id: string;
  event_type: string;
  /** The event's data as JSON text. */
  data: string;
  tm_create: ColumnType<string, string | undefined, never>;
  /** The customer and its sequence number (null only for rows from before 0012). */
  customer_id: ColumnType<string | null, string | undefined, never>;
  seq: ColumnType<number | null, number | undefined, never>;
  published_at: ColumnType<string | null, never, string>;
}

/** `event_sequences`: each customer's last event sequence number. */
export interface EventSequencesTable {
  customer_id: string;
  last_seq: number;
}

/** `billing_accounts`: one per customer; `balance` in micro-units (1 unit = 1,000,000). */
export interface BillingAccountsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  name: string;
  balance: number;
  currency: string;
}

/**
 * `billing_ledger`: every change of a balance, with the balance after it. `usage_id` (unique)
 * makes a usage event charge once however often it is reported.
 */
export interface BillingLedgerTable {
  id: string;
  account_id: string;
  customer_id: string;
  kind: string;
  usage_id: string | null;
  aicall_id: string | null;
  usage_kind: string;
  provider: string;
  input_tokens: number | null;
  output_tokens: number | null;
  characters: number | null;
  audio_seconds: number | null;
  amount: number;
  balance_after: number;
  detail: string;
  tm_create: ColumnType<string, string | undefined, never>;
}

/** `knowledgebases`: `language` picks the text-search configuration of its passages. */
export interface KnowledgebasesTable extends TimestampColumns {
  id: string;
  customer_id: string;
  name: string;
  detail: string;
  language: string;
}

/** `knowledgebase_documents`: the text a customer uploaded, kept whole. */
export interface KnowledgebaseDocumentsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  knowledgebase_id: string;
  name: string;
  source: string;
  content: string;
  content_length: number;
  passage_count: number;
}

/**
 * `knowledgebase_passages`: a live document's text in searchable pieces. `search_vector` is
 * generated from `text_config` (a regconfig such as `english`) and `content`.
 */
export interface KnowledgebasePassagesTable {
  id: string;
  customer_id: string;
  knowledgebase_id: string;
  document_id: string;
  position: number;
  content: string;
  text_config: string;
  search_vector: ColumnType<string, never, never>;
}

/** `conversation_channels`: a customer's SMS or LINE account; secrets sealed like `engine_key`. */
export interface ConversationChannelsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  type: string;
  name: string;
  detail: string;
  flow_id: string | null;
  api_base_url: string;
  account_sid: string;
  auth_token_encrypted: string | null;
  channel_secret_encrypted: string | null;
  channel_access_token_encrypted: string | null;
}

/** `conversations`: unique per channel, own address (`self`) and contact (`peer`). */
export interface ConversationsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  channel_id: string;
  type: string;
  self: string;
  peer: string;
  status: string;
}

/** `conversation_messages`: inbound and outbound; `provider_message_id` unique per channel. */
export interface ConversationMessagesTable extends TimestampColumns {
  id: string;
  customer_id: string;
  conversation_id: string;
  channel_id: string;
  direction: string;
  text: string;
  provider_message_id: string | null;
  delivery_status: string;
  delivery_error: string;
  aicall_id: string | null;
  reply_token: string | null;
  reply_token_used: Generated<boolean>;
}

export interface AiManagerTables {
  customers: CustomersTable;
  access_keys: AccessKeysTable;
  ais: AisTable;
  aicalls: AicallsTable;
  aimessages: AimessagesTable;
  aisummaries: AisummariesTable;
  transcribes: TranscribesTable;
  transcripts: TranscriptsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  event_outbox: EventOutboxTable;
  event_sequences: EventSequencesTable;
  knowledgebases: KnowledgebasesTable;
  knowledgebase_documents: KnowledgebaseDocumentsTable;
  knowledgebase_passages: KnowledgebasePassagesTable;
  billing_accounts: BillingAccountsTable;
  billing_ledger: BillingLedgerTable;
  conversation_channels: ConversationChannelsTable;
  conversations: ConversationsTable;
  conversation_messages: ConversationMessagesTable;
  teams: TeamsTable;
}

/** ai-manager's Kysely, or a transaction on it. */
export type AiManagerDb = Kysely<AiManagerTables> | Transaction<AiManagerTables>;
