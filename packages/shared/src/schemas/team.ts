import { z } from 'zod';
import { toolNames } from './ai.ts';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/** Most members in one team, and transitions out of one member. */
export const maxTeamMembers = 20;
export const maxMemberTransitions = 20;

/**
 * A transition's function name: what the LLM calls to hand the conversation over. The tool
 * name rule of the LLM APIs (letters, digits, `_`, `-`, at most 64), and never one of the
 * platform's own tools (or `all`), so a call is always one or the other.
 */
export const transitionFunctionNameSchema = z
  .string()
  .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"')
  .refine((name) => name !== 'all' && !(toolNames as readonly string[]).includes(name), {
    message: `must not be a built-in tool name (${toolNames.join(', ')})`,
  });

/** One way out of a member: calling `function_name` hands the conversation to `next_member_id`. */
export const teamTransitionSchema = z.strictObject({
  function_name: transitionFunctionNameSchema,
  /** What the LLM is told about when to call it. */
  description: z.string().max(1024).default(''),
  next_member_id: z.uuid(),
});
export type TeamTransition = z.infer<typeof teamTransitionSchema>;

/** A member: one of the customer's AIs in a role, with the transitions it may take. */
export const teamMemberSchema = z.strictObject({
  /** Chosen by the customer: transitions and `start_member_id` name members by it. */
  id: z.uuid(),
  name: z.string().max(255).default(''),
  ai_id: z.uuid(),
  transitions: z.array(teamTransitionSchema).max(maxMemberTransitions).default([]),
});
export type TeamMember = z.infer<typeof teamMemberSchema>;

/** The fields a customer sets on a team (POST and PUT bodies). */
export const teamFieldsSchema = z.strictObject({
  name: z.string().max(255).default(''),
  detail: z.string().max(4096).default(''),
  start_member_id: z.uuid(),
  members: z.array(teamMemberSchema).min(1).max(maxTeamMembers),
  /** Free JSON given to every member with its own AI's `parameter` (the team's keys win). */
  parameter: z.record(z.string(), z.unknown()).default({}),
});
export type TeamFields = z.infer<typeof teamFieldsSchema>;

/** A team as the API, events and webhooks show it. */
export const teamSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  name: z.string(),
  detail: z.string(),
  start_member_id: z.uuid(),
  members: z.array(
    z.object({
      id: z.uuid(),
      name: z.string(),
      ai_id: z.uuid(),
      transitions: z.array(z.object({ function_name: z.string(), description: z.string(), next_member_id: z.uuid() })),
    }),
  ),
  parameter: z.record(z.string(), z.unknown()),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type Team = z.infer<typeof teamSchema>;
