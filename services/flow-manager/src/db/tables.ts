import type { Action, ActiveflowStack, JsonbColumn, TimestampColumns } from '@avp/shared';
import type { ColumnType, Kysely, Transaction } from 'kysely';

/** `flows`: a customer's flows; `actions` are stored validated, with ids assigned. */
export interface FlowsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  name: string;
  detail: string;
  actions: JsonbColumn<Action[]>;
  on_complete_flow_id: string | null;
}

/** `activeflows`: one running (or ended) execution of a flow, with its stacks and variables. */
export interface ActiveflowsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  flow_id: string | null;
  status: string;
  reference_type: string;
  reference_id: string | null;
  current_stack_id: string | null;
  current_action_id: string | null;
  stacks: JsonbColumn<ActiveflowStack[]>;
  variables: JsonbColumn<Record<string, string>>;
  /** Jumps made by each goto action, for its loop_count. */
  goto_counts: JsonbColumn<Record<string, number>>;
  execute_count: number;
  end_reason: string;
  tm_end: string | null;
}

/** `calls`: one Asterisk channel handled by the Stasis app. */
export interface CallsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  channel_id: string;
  activeflow_id: string | null;
  direction: string;
  source: string;
  destination: string;
  status: string;
  hangup_by: string;
  hangup_reason: string;
  tm_progressing: string | null;
  tm_hangup: string | null;
}

/** `numbers`: the flows bound to a number (unique among live rows). */
export interface NumbersTable extends TimestampColumns {
  id: string;
  customer_id: string;
  number: string;
  call_flow_id: string | null;
  message_flow_id: string | null;
}

/** `inbound_messages`: text messages (SMS/LINE style) received for a number. */
export interface InboundMessagesTable extends TimestampColumns {
  id: string;
  customer_id: string;
  conversation_id: string;
  source: string;
  destination: string;
  text: string;
  activeflow_id: string | null;
}

/** `bridges`: mixing bridges made over RPC (`POST /v1/bridges`), owned by a customer. */
export interface BridgesTable extends TimestampColumns {
  id: string;
  customer_id: string;
  /** The telephony side's id of the bridge (ARI's bridge id). */
  control_id: string;
  name: string;
}

/** `external_media_legs`: the external media leg of a call, recorded before it is created in Asterisk. */
export interface ExternalMediaLegsTable {
  call_id: string;
  customer_id: string;
  /** The caller's channel, bridged with the leg. */
  caller_channel_id: string;
  /** The leg's own channel (UnicastRTP or WebSocket) and the bridge both are in. */
  channel_id: string;
  bridge_id: string;
  transport: string;
  /** A WebSocket leg not bridged yet (its client has not connected). */
  pending: boolean;
  local_address: string | null;
  local_port: number | null;
  websocket_url: string | null;
  tm_create: string;
  tm_update: string;
}

/**
 * `telephony_objects`: a `connect`'s callee channels and bridge, a playback, or a snoop media
 * leg's channels and bridge, while they exist.
 */
export interface TelephonyObjectsTable {
  /** The connect's id (`connect-...`), the playback's id, or a snoop leg's RTP channel (`snoop-...-rtp`). */
  id: string;
  kind: 'connect' | 'playback' | 'snoop' | 'recording';
  call_id: string | null;
  caller_channel_id: string;
  /** A connect's callee channels (empty for a playback); a snoop leg's snoop and RTP channels. */
  channel_ids: JsonbColumn<string[]>;
  bridge_id: string | null;
  tm_create: string;
}

/** `recordings`: recordings of calls; the file is in the recording storage (`<customer>/<id>.wav`). */
export interface RecordingsTable extends TimestampColumns {
  id: string;
  customer_id: string;
  reference_type: string;
  reference_id: string;
  status: string;
  format: string;
  duration_ms: number;
  failure_reason: string;
  tm_start: string | null;
  tm_end: string | null;
}

/**
 * `outgoing_flows`: what an outgoing call (`POST /v1.0/calls`) runs once answered, kept while it
 * rings (any instance, also after a restart, starts it); `answered` once an instance claimed it.
 */
export interface OutgoingFlowsTable {
  call_id: string;
  customer_id: string;
  flow_id: string | null;
  actions: JsonbColumn<Action[]>;
  variables: JsonbColumn<Record<string, string>>;
  /** The hidden AIs of `actions` (see InlineAiReleaser): kept while a call of theirs rings. */
  inline_ai_ids: JsonbColumn<string[]>;
  answered: ColumnType<boolean, boolean | undefined, boolean>;
  tm_ring_deadline: string;
  tm_create: string;
}

/**
 * `inline_ai_releases`: releases of inline AIs ai-manager did not take (InlineAiReleaser), tried
 * again from here by any instance once `tm_next_try` has come, also after a restart.
 */
export interface InlineAiReleasesTable {
  id: string;
  customer_id: string;
  ai_ids: JsonbColumn<string[]>;
  /** Tries made so far. */
  attempts: number;
  tm_next_try: string;
  tm_create: string;
}

export interface FlowManagerTables {
  flows: FlowsTable;
  activeflows: ActiveflowsTable;
  calls: CallsTable;
  numbers: NumbersTable;
  inbound_messages: InboundMessagesTable;
  bridges: BridgesTable;
  external_media_legs: ExternalMediaLegsTable;
  telephony_objects: TelephonyObjectsTable;
  recordings: RecordingsTable;
  outgoing_flows: OutgoingFlowsTable;
  inline_ai_releases: InlineAiReleasesTable;
}

export type FlowManagerDb = Kysely<FlowManagerTables> | Transaction<FlowManagerTables>;
