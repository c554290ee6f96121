import { z } from 'zod';
import { aiFieldsSchema } from './ai.ts';
import { aiSchema, type Ai } from './ai-resource.ts';

/**
 * The settings of an AI that `ai_talk` / `ai` / `ai_task` may carry inline instead of naming
 * an AI: every field of `POST /v1.0/ais` but `name` and `detail`, checked by the very same
 * schemas (so the same rules and messages). ai-manager keeps them as a hidden AI of the
 * customer's, owned by the flow (or activeflow) and the action; see `inlineAiSyncSchema`.
 */
export const inlineAiFieldsSchema = aiFieldsSchema.omit({ name: true, detail: true });
export type InlineAiFields = z.infer<typeof inlineAiFieldsSchema>;
export type InlineAiFieldName = keyof typeof inlineAiFieldsSchema.shape;

/** The names of the inline settings, in the order of `POST /v1.0/ais`. */
export const inlineAiFieldNames = Object.keys(inlineAiFieldsSchema.shape) as InlineAiFieldName[];

/** The write-only inline settings: sent to ai-manager, which encrypts them, and never stored in a flow. */
export const inlineAiSecretFields = ['engine_key', 'fallback_engine_key'] as const satisfies readonly InlineAiFieldName[];

/**
 * What a saved inline action shows besides its settings, set by the platform: whether each
 * key is stored, and the id of the hidden AI its sessions run (an AIcall's `assistance_id`).
 * Sent back (a flow read and written again) they are ignored.
 */
export const inlineAiReadOnlyFields = ['engine_key_set', 'fallback_engine_key_set', 'inline_ai_id'] as const;

/** A field of an option: optional, without the default (ai-manager fills the defaults in when it stores the AI). */
function optionalWithoutDefault(schema: z.ZodType): z.ZodOptional<z.ZodType> {
  const bare = schema instanceof z.ZodDefault ? schema.removeDefault() : schema instanceof z.ZodOptional ? schema.unwrap() : schema;
  return (bare as z.ZodType).optional();
}

/** The inline settings as fields of an action's option, each checked like on `POST /v1.0/ais`. */
export const inlineAiOptionShape = Object.fromEntries(
  inlineAiFieldNames.map((name) => [name, optionalWithoutDefault(inlineAiFieldsSchema.shape[name])]),
) as Record<InlineAiFieldName, z.ZodOptional<z.ZodType>>;

/** The read-only fields as an option shows them (accepted back, ignored). */
export const inlineAiReadOnlyOptionShape = {
  engine_key_set: z.boolean().optional().meta({ description: 'Read-only: whether the inline engine_key is stored (the key itself is never shown).' }),
  fallback_engine_key_set: z.boolean().optional().meta({ description: 'Read-only: whether the inline fallback_engine_key is stored.' }),
  inline_ai_id: z.uuid().optional().meta({ description: "Read-only: the hidden AI that holds the inline settings (the AIcalls' assistance_id)." }),
};

/** `POST /v1.0/ais`'s message for a missing `engine_model`, for inline settings without one. */
export const missingEngineModelMessage = aiFieldsSchema.shape.engine_model.safeParse(undefined).error?.issues[0]?.message ?? 'Invalid input';

/** Whether an option carries inline AI settings (any of them, keys included). */
export function hasInlineAiSettings(option: Readonly<Record<string, unknown>>): boolean {
  return inlineAiFieldNames.some((name) => option[name] !== undefined);
}

/** The inline settings of an option, as `POST /v1.0/ais` takes them (keys included). */
export function inlineAiSettingsOf(option: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(inlineAiFieldNames.filter((name) => option[name] !== undefined).map((name) => [name, option[name]]));
}

/** An option without its inline settings and the read-only fields: what names no AI (`duration`, `assistance_type`). */
export function withoutInlineAi(option: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const dropped = new Set<string>([...inlineAiFieldNames, ...inlineAiReadOnlyFields]);
  return Object.fromEntries(Object.entries(option).filter(([key]) => !dropped.has(key)));
}

/**
 * How a saved inline action shows its AI: every setting as ai-manager stored it (defaults
 * filled in, kept fields kept), the keys only as `engine_key_set` / `fallback_engine_key_set`,
 * and the hidden AI's id.
 */
export function inlineAiView(ai: Ai): Record<string, unknown> {
  const secrets = new Set<string>(inlineAiSecretFields);
  const view: Record<string, unknown> = {};
  for (const name of inlineAiFieldNames) if (!secrets.has(name)) view[name] = ai[name as keyof Ai];
  return { ...view, engine_key_set: ai.engine_key_set, fallback_engine_key_set: ai.fallback_engine_key_set, inline_ai_id: ai.id };
}

/** What owns a set of inline AIs: a flow, an activeflow started with actions, or one `POST /v1.0/calls` with actions. */
export const inlineAiOwnerTypes = ['flow', 'activeflow', 'calls'] as const;
export type InlineAiOwnerType = (typeof inlineAiOwnerTypes)[number];

/**
 * ai-manager's `PUT /v1/inline_ais` (flow-manager, when it saves actions): the owner's inline
 * AIs become exactly these, one per action id: created, or replaced like `PUT /v1.0/ais`
 * (an `engine_key` left out keeps the stored one, `""` removes it), and the owner's others
 * are deleted. Everything is the named customer's: another customer's owner id reaches none of
 * theirs. A bad setting is a 400 whose `details.problems` name the action.
 */
export const inlineAiSyncSchema = z.strictObject({
  customer_id: z.uuid(),
  owner_type: z.enum(inlineAiOwnerTypes),
  owner_id: z.uuid(),
  ais: z
    .array(z.strictObject({ action_id: z.uuid(), settings: z.record(z.string(), z.unknown()) }))
    .max(500)
    .refine((items) => new Set(items.map((item) => item.action_id.toLowerCase())).size === items.length, { message: 'action ids must not repeat' }),
});
export type InlineAiSync = z.input<typeof inlineAiSyncSchema>;

/** Its answer: each action's AI as `GET /v1.0/ais/{id}` would show it. */
export const inlineAiSyncResultSchema = z.object({
  result: z.array(z.object({ action_id: z.uuid(), ai: aiSchema })),
});
export type InlineAiSyncResult = z.infer<typeof inlineAiSyncResultSchema>;

/**
 * ai-manager's `POST /v1/inline_ais/release` (flow-manager, once nothing will start a session
 * with them any more: the last activeflow or unanswered outgoing call that carried them ended):
 * the named customer's inline AIs owned by an activeflow or outgoing calls are deleted as soon as
 * no session runs them (at once, or when the last one ends). A flow's inline AIs are never
 * released this way: they live as long as their action in the flow.
 */
export const inlineAiReleaseSchema = z.strictObject({
  customer_id: z.uuid(),
  ai_ids: z.array(z.uuid()).min(1).max(500),
});
export type InlineAiRelease = z.input<typeof inlineAiReleaseSchema>;

/** Its answer: how many were released (owned by an activeflow or calls, not deleted before) and how many deleted at once. */
export const inlineAiReleaseResultSchema = z.object({ released: z.number().int(), deleted: z.number().int() });

/** A problem of one action's inline settings (`details.problems` of the 400). */
export const inlineAiProblemSchema = z.object({ action_id: z.string(), message: z.string() });
export type InlineAiProblem = z.infer<typeof inlineAiProblemSchema>;

/**
 * The rule of an AI-starting option (`ai_talk`, `ai`, `ai_task`): it names an AI (`ai_id`, or
 * `assistance_id` with `assistance_type`) or carries an AI's settings inline, never both.
 * Inline settings need `engine_model` (the message is `POST /v1.0/ais`'s) and are an AI's, not
 * a team's.
 */
export function checkAiStartOption(option: Readonly<Record<string, unknown>>, context: z.RefinementCtx): void {
  const named = option.ai_id !== undefined || option.assistance_id !== undefined;
  const inline = hasInlineAiSettings(option);
  if (named && inline) {
    context.addIssue({ code: 'custom', message: 'name an AI (ai_id, or assistance_id) or give its settings inline (engine_model, init_prompt, ...), not both' });
  } else if (!named && !inline) {
    context.addIssue({ code: 'custom', message: "needs assistance_id (with assistance_type) or ai_id, or an AI's settings inline (engine_model, init_prompt, ...)" });
  } else if (inline) {
    if (option.engine_model === undefined) context.addIssue({ code: 'custom', path: ['engine_model'], message: missingEngineModelMessage });
    if (option.assistance_type === 'team') {
      context.addIssue({ code: 'custom', path: ['assistance_type'], message: 'inline settings are an AI\'s: leave assistance_type out or make it "ai"' });
    }
  }
}
