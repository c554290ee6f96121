import { z } from 'zod';
import { languageTagSchema } from './ai.ts';
import { transcribePhrasesSchema } from './transcribe.ts';
import { checkAiStartOption, inlineAiOptionShape, inlineAiReadOnlyOptionShape } from './inline-ai.ts';
import { externalMediaActionOptionSchema } from './external-media.ts';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/** Largest number of actions one flow may hold. */
export const maxFlowActions = 500;

/** A destination of `connect`: a phone number (`tel`) or an endpoint name (`endpoint`). */
export const connectDestinationSchema = z.strictObject({
  type: z.enum(['tel', 'endpoint']),
  target: z.string().min(1).max(200),
});

/**
 * `ai_talk` / `ai_task`: which AI (or team) to start; `ai_id` is the older spelling of (ai, id).
 * Instead of naming an AI, the option may carry an AI's settings inline (the fields of
 * `POST /v1.0/ais` but name and detail, same rules; see inline-ai.ts).
 */
const aiStartOptionSchema = z
  .strictObject({
    ai_id: z.uuid().optional(),
    assistance_type: z.enum(['ai', 'team']).optional(),
    assistance_id: z.uuid().optional(),
    /**
     * `ai_talk` on a call: the AI session's time limit in seconds; when it runs out the AI says
     * a closing line and the flow goes on after the action (as with stop_service). 0 or absent =
     * no limit (at most 2147483647, what the AIcall stores). Not applied to text conversations
     * or `ai_task`.
     */
    duration: z.number().int().min(0).max(2_147_483_647).optional(),
    ...inlineAiOptionShape,
    ...inlineAiReadOnlyOptionShape,
  })
  .superRefine(checkAiStartOption);

/**
 * The option of each action type. Every string option may use `${variable}` placeholders,
 * replaced with the activeflow's variables when the action runs.
 */
export const actionOptionSchemas = {
  answer: z.strictObject({}),
  talk: z.strictObject({
    text: z.string().min(1).max(5000),
    language: z.union([z.literal(''), languageTagSchema]).default('en-US'),
    /** Voice of the offline TTS (espeak-ng voice name); empty = by language. */
    voice: z.string().max(100).default(''),
  }),
  play: z.strictObject({
    /** Media URIs as ARI takes them: `sound:...`, `tone:...`, `http(s)://...wav`. */
    stream_urls: z.array(z.string().min(1).max(2000)).min(1).max(20),
  }),
  hangup: z.strictObject({
    reason: z.enum(['normal', 'busy', 'noanswer', 'congestion']).default('normal'),
  }),
  connect: z.strictObject({
    /** Caller id shown to the callee; default the call's own source. */
    source: z.string().max(200).optional(),
    destinations: z.array(connectDestinationSchema).min(1).max(10),
    /** Seconds to wait for an answer. */
    timeout: z.number().int().min(1).max(600).default(30),
  }),
  digits_receive: z.strictObject({
    /** Milliseconds to wait for the digits. */
    duration: z.number().int().min(100).max(300_000).default(5000),
    /** Digits to collect before going on. */
    length: z.number().int().min(1).max(100).default(1),
    /** A digit that ends collection early (it is not stored). */
    key: z.string().regex(/^[0-9*#A-D]?$/).default(''),
  }),
  variable_set: z.strictObject({
    key: z.string().min(1).max(128),
    value: z.string().max(10_000),
  }),
  branch: z.strictObject({
    /** The variable whose value picks the target. */
    variable: z.string().min(1).max(128),
    /** Action id to go to for each value. */
    target_ids: z.record(z.string(), z.uuid()).default({}),
    /** Action id when no value matches; absent = the next action. */
    default_target_id: z.uuid().optional(),
  }),
  goto: z.strictObject({
    target_id: z.uuid(),
    /** How many times this goto jumps before it lets the flow go on. */
    loop_count: z.number().int().min(0).max(1000).default(3),
  }),
  block: z.strictObject({}),
  ai_talk: aiStartOptionSchema,
  /** The product overview's name of `ai_talk`: the same action. */
  ai: aiStartOptionSchema,
  ai_task: aiStartOptionSchema,
  /** Starts transcribing the flow's call (POST /v1.0/transcribes); the flow goes on at once. */
  transcribe_start: z.strictObject({
    language: z.union([z.literal(''), languageTagSchema]).default(''),
    direction: z.enum(['in', 'out', 'both']).default('both'),
    /** Recognition hints (see POST /v1.0/transcribes). */
    phrases: transcribePhrasesSchema,
  }),
  /** Stops the transcriptions of the flow's call. */
  transcribe_stop: z.strictObject({}),
  /** Starts recording the flow's call (POST /v1.0/recordings); sets `voipbin.recording.id`; the flow goes on at once. */
  recording_start: z.strictObject({}),
  /** Stops the recordings of the flow's call that are still running. */
  recording_stop: z.strictObject({}),
  /**
   * Connects the flow's call to a third-party engine's WebSocket (see POST
   * /v1.0/calls/{id}/external-media); sets `voipbin.external_media.id` (and, for `dial_in`,
   * `voipbin.external_media.url`). With `wait` (default) the flow stays here until the stream
   * ends (the engine closes its socket, `external_media_stop`, the API) and then goes on.
   */
  external_media_start: externalMediaActionOptionSchema,
  /** Ends the external media stream of the flow's call, if one runs. */
  external_media_stop: z.strictObject({}),
  /**
   * Summarises a call, transcription or recording once its transcription is done; the flow goes
   * on at once (`voipbin.ai_summary.id` names the summary). Without `reference_id`, a `call`
   * summary is of the flow's own call; `${voipbin.call.id}`-style placeholders work. `ai_id`:
   * an AI of the customer's whose engine_model and engine_key write it (as in POST
   * /v1.0/aisummaries), else the platform's engine.
   */
  ai_summary: z.strictObject({
    on_end_flow_id: z.uuid().optional(),
    ai_id: z.uuid().optional(),
    reference_type: z.enum(['call', 'conference', 'transcribe', 'recording']),
    reference_id: z.string().min(1).optional(),
    language: z.union([z.literal(''), languageTagSchema]).default(''),
  }),
} as const;

export type ActionType = keyof typeof actionOptionSchemas;
export const actionTypes = Object.keys(actionOptionSchemas) as [ActionType, ...ActionType[]];

/** Action types that need a call (they fail on an activeflow without one). */
export const callActionTypes: readonly ActionType[] = ['answer', 'talk', 'play', 'hangup', 'connect', 'digits_receive', 'transcribe_start', 'transcribe_stop', 'recording_start', 'recording_stop', 'external_media_start', 'external_media_stop'];

/** An action as a client writes it: the id is optional and assigned on create. */
export const actionInputSchema = z.strictObject({
  id: z.uuid().optional(),
  next_id: z.uuid().optional(),
  type: z.enum(actionTypes),
  option: z.record(z.string(), z.unknown()).default({}),
});
export type ActionInput = z.input<typeof actionInputSchema>;

/**
 * One element of a request's `actions`: accepts anything (the actions are checked together
 * by `validateActions`, so a bad one is named by position and type) but is documented in
 * the OpenAPI document as an action, with the option of each type.
 */
export const actionInputItemSchema = z.unknown().meta({
  type: 'object',
  description: 'An action. `option` depends on `type` (see its anyOf, titled by type); `${variable}` placeholders in string options are replaced when the action runs.',
  properties: {
    id: { type: 'string', format: 'uuid', description: 'Assigned when left out.' },
    next_id: { type: 'string', format: 'uuid', description: 'The action to go to next; default the following one.' },
    type: { type: 'string', enum: [...actionTypes] },
    option: {
      type: 'object',
      anyOf: actionTypes.map((type) => ({ ...openapiInputSchema(actionOptionSchemas[type]), title: type })),
    },
  },
  required: ['type'],
  additionalProperties: false,
});

function openapiInputSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _schema, ...rest } = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** A stored action: id assigned, option validated and defaults filled in. */
export const actionSchema = z.object({
  id: z.uuid(),
  next_id: z.uuid().optional(),
  type: z.enum(actionTypes),
  option: z.record(z.string(), z.unknown()),
});
export type Action = z.infer<typeof actionSchema>;

/** A validation problem of one action, named by its position and type. */
export interface ActionProblem {
  index: number;
  type: string;
  message: string;
}

/**
 * Validates a flow's actions: every option against its type, ids unique, and every
 * reference (`next_id`, `goto`, `branch`) pointing at an action of the same flow. Returns
 * the actions with ids assigned and defaults filled in, or the problems.
 */
export function validateActions(
  inputs: unknown[],
  newId: () => string,
): { actions: Action[]; problems: [] } | { actions: undefined; problems: ActionProblem[] } {
  const problems: ActionProblem[] = [];
  const actions: Action[] = [];
  inputs.forEach((input, index) => {
    const parsed = actionInputSchema.safeParse(input);
    if (!parsed.success) {
      const type = typeof input === 'object' && input && 'type' in input ? String((input as { type: unknown }).type) : '?';
      problems.push({ index, type, message: formatIssues(parsed.error) });
      return;
    }
    const option = actionOptionSchemas[parsed.data.type].safeParse(parsed.data.option);
    if (!option.success) {
      problems.push({ index, type: parsed.data.type, message: formatIssues(option.error, 'option') });
      return;
    }
    actions.push({ ...parsed.data, id: parsed.data.id ?? newId(), option: option.data as Record<string, unknown> });
  });
  if (problems.length > 0) return { actions: undefined, problems };

  const ids = new Set<string>();
  actions.forEach((action, index) => {
    if (ids.has(action.id)) problems.push({ index, type: action.type, message: `id ${action.id} is used twice` });
    ids.add(action.id);
  });
  actions.forEach((action, index) => {
    const references: string[] = [];
    if (action.next_id) references.push(action.next_id);
    if (action.type === 'goto') references.push(String(action.option.target_id));
    if (action.type === 'branch') {
      const option = action.option as z.infer<(typeof actionOptionSchemas)['branch']>;
      references.push(...Object.values(option.target_ids));
      if (option.default_target_id) references.push(option.default_target_id);
    }
    for (const reference of references) {
      if (!ids.has(reference)) problems.push({ index, type: action.type, message: `refers to ${reference}, which is not an action of this flow` });
    }
  });
  if (problems.length > 0) return { actions: undefined, problems };
  return { actions, problems: [] };
}

function formatIssues(error: z.ZodError, prefix?: string): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** What a client sends to create or replace a flow. */
export const flowFieldsSchema = z.strictObject({
  name: z.string().max(255).default(''),
  detail: z.string().max(2000).default(''),
  actions: z.array(actionInputItemSchema).max(maxFlowActions).default([]),
  /** A flow to start (reference type `flow`) when an activeflow of this one ends. */
  on_complete_flow_id: z.uuid().nullable().default(null),
});
export type FlowFields = z.output<typeof flowFieldsSchema>;

export const flowSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  type: z.literal('flow'),
  name: z.string(),
  detail: z.string(),
  actions: z.array(actionSchema),
  on_complete_flow_id: z.uuid().nullable(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type Flow = z.infer<typeof flowSchema>;

export const activeflowStatuses = ['running', 'waiting', 'ended'] as const;
export type ActiveflowStatus = (typeof activeflowStatuses)[number];

/** What an activeflow runs for: a call, an API request, a text conversation, another service. */
export const activeflowReferenceTypes = ['call', 'api', 'conversation', 'ai', 'flow'] as const;
export type ActiveflowReferenceType = (typeof activeflowReferenceTypes)[number];

/** One stack of the activeflow: the main flow, or actions a service (an AIcall) pushed. */
export const activeflowStackSchema = z.object({
  id: z.string(),
  actions: z.array(actionSchema),
  /** Where execution goes back to when this stack ends or its service stops. */
  return_to: z.object({ stack_id: z.string(), action_id: z.string() }).nullable(),
});
export type ActiveflowStack = z.infer<typeof activeflowStackSchema>;

export const activeflowSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  flow_id: z.uuid().nullable(),
  status: z.enum(activeflowStatuses),
  reference_type: z.enum(activeflowReferenceTypes),
  reference_id: z.string().nullable(),
  current_stack_id: z.string().nullable(),
  current_action: actionSchema.nullable(),
  /** Stacks from the bottom (main) to the top. */
  stacks: z.array(activeflowStackSchema),
  variables: z.record(z.string(), z.string()),
  execute_count: z.number().int(),
  end_reason: z.string(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_end: timestamp.nullable(),
  tm_delete: timestamp.nullable(),
});
export type Activeflow = z.infer<typeof activeflowSchema>;

/** `dialing` and `ringing` before an answer (an outgoing call starts `dialing`, an incoming one `ringing`). */
export const callStatuses = ['dialing', 'ringing', 'progressing', 'hangup'] as const;
export type CallStatus = (typeof callStatuses)[number];

export const callSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  channel_id: z.string(),
  activeflow_id: z.uuid().nullable(),
  direction: z.enum(['incoming', 'outgoing']),
  source: z.string(),
  destination: z.string(),
  status: z.enum(callStatuses),
  hangup_by: z.enum(['', 'remote', 'local']),
  /**
   * Why the call ended. An outgoing call: `normal` (hung up by either side normally once
   * answered), `noanswer`, `busy`, `failed`, `cancel` (hung up over the API while it rang), or
   * Asterisk's cause text for another end after the answer. An incoming call: Asterisk's cause
   * text (`Normal Clearing`, `hung up over ARI`), or the reason given over the API (`normal`).
   */
  hangup_reason: z.string(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_progressing: timestamp.nullable(),
  tm_hangup: timestamp.nullable(),
  tm_delete: timestamp.nullable(),
});
export type Call = z.infer<typeof callSchema>;

/** A phone number and the flows that run for calls and text messages to it. */
export const numberFieldsSchema = z.strictObject({
  number: z.string().regex(/^\+?[0-9*#A-Za-z_.-]{1,64}$/, 'a phone number or endpoint name'),
  call_flow_id: z.uuid().nullable().default(null),
  message_flow_id: z.uuid().nullable().default(null),
});
export type NumberFields = z.output<typeof numberFieldsSchema>;

export const numberSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  number: z.string(),
  call_flow_id: z.uuid().nullable(),
  message_flow_id: z.uuid().nullable(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type PhoneNumber = z.infer<typeof numberSchema>;

/** What a service that pushes actions (ai-manager for `ai_talk`) answers flow-manager. */
export const pushedServiceSchema = z.object({
  /** The service's id; empty when it did not start and pushes nothing (a transcription that could not start). */
  id: z.string(),
  type: z.string(),
  push_actions: z.array(z.unknown()).default([]),
});
export type PushedService = z.infer<typeof pushedServiceSchema>;

/** Events flow-manager publishes on `flow-manager.event`. */
export const flowManagerEventTypes = [
  'flow_created',
  'flow_updated',
  'flow_deleted',
  'activeflow_created',
  'activeflow_updated',
  'activeflow_ended',
  'call_created',
  'call_ringing',
  'call_progressing',
  'call_hangup',
  'call_dtmf_received',
  'recording_started',
  'recording_finished',
  'external_media_started',
  'external_media_stopped',
  'number_created',
  'number_updated',
  'number_deleted',
] as const;
export type FlowManagerEventType = (typeof flowManagerEventTypes)[number];
