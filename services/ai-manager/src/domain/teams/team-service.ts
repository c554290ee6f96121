import { appError, newId, type AppError, type ListQuery, type ListResponse, type Team, type TeamFields } from '@avp/shared';
import type { AiManagerDb, TeamMemberColumn } from '../../db/tables.ts';
import { withEvents } from '../../events/event-publisher.ts';
import type { DomainContext } from '../context.ts';
import { deleteTeam, findTeam, insertTeam, listTeams, replaceTeam, type TeamRow, type TeamRowFields } from './team-repository.ts';

/** The one "missing" error of a team: another customer's team is exactly as missing. */
export function teamNotFound(): AppError {
  return appError('RESOURCE_NOT_FOUND', 'No team with this id.');
}

/** The public form of a team. */
export function toTeam(row: TeamRow): Team {
  return {
    id: row.id,
    customer_id: row.customer_id,
    name: row.name,
    detail: row.detail,
    start_member_id: row.start_member_id,
    members: row.members,
    parameter: row.parameter,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

/**
 * What the schema cannot see: member ids that repeat, a start member or a transition target
 * outside the team, a function name offered twice by one member, an AI that is not the
 * customer's. Every problem in one 400, each named by its path.
 */
async function checkedFields(db: AiManagerDb, customerId: string, fields: TeamFields): Promise<TeamRowFields> {
  const problems: string[] = [];
  const members: TeamMemberColumn[] = fields.members.map((member) => ({
    id: member.id.toLowerCase(),
    name: member.name,
    ai_id: member.ai_id.toLowerCase(),
    transitions: member.transitions.map((transition) => ({ ...transition, next_member_id: transition.next_member_id.toLowerCase() })),
  }));
  const ids = new Set<string>();
  for (const [index, member] of members.entries()) {
    if (ids.has(member.id)) problems.push(`members[${index}].id: ${member.id} is used by another member`);
    ids.add(member.id);
  }
  const startMemberId = fields.start_member_id.toLowerCase();
  if (!ids.has(startMemberId)) problems.push(`start_member_id: ${startMemberId} is not a member of the team`);
  for (const [index, member] of members.entries()) {
    const names = new Set<string>();
    for (const [position, transition] of member.transitions.entries()) {
      const path = `members[${index}].transitions[${position}]`;
      if (names.has(transition.function_name)) problems.push(`${path}.function_name: ${transition.function_name} is offered twice by this member`);
      names.add(transition.function_name);
      if (!ids.has(transition.next_member_id)) problems.push(`${path}.next_member_id: ${transition.next_member_id} is not a member of the team`);
    }
  }
  const aiIds = [...new Set(members.map((member) => member.ai_id))];
  // AIs of /v1.0/ais only (an inline AI is a flow action's own), locked for share until the
  // team is written, so none of them is deleted in between.
  const found = new Set(
    (await db.selectFrom('ais').select('id').where('customer_id', '=', customerId).where('tm_delete', 'is', null).where('inline_owner_id', 'is', null).where('id', 'in', aiIds).forShare().execute()).map(
      (row) => row.id,
    ),
  );
  for (const [index, member] of members.entries()) {
    if (!found.has(member.ai_id)) problems.push(`members[${index}].ai_id: no AI ${member.ai_id} of yours`);
  }
  if (problems.length > 0) throw appError('VALIDATION_FAILED', `Invalid team: ${problems.join('; ')}`, { problems });
  return { name: fields.name, detail: fields.detail, start_member_id: startMemberId, members, parameter: fields.parameter };
}

export async function createTeam(context: DomainContext, customerId: string, fields: TeamFields): Promise<Team> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await insertTeam(trx, newId(), customerId, await checkedFields(trx, customerId, fields));
    const team = toTeam(row);
    await emit('team_created', customerId, team);
    return team;
  });
}

export async function getTeam(context: DomainContext, customerId: string, id: string): Promise<Team> {
  const row = await findTeam(context.db, customerId, id);
  if (!row) throw teamNotFound();
  return toTeam(row);
}

export async function listTeamPage(context: DomainContext, customerId: string, page: ListQuery): Promise<ListResponse<Team>> {
  const list = await listTeams(context.db, customerId, page);
  return { result: list.result.map(toTeam), next_page_token: list.next_page_token };
}

/** Replaces every field. A running session of the team reads the team again at its next member switch. */
export async function updateTeam(context: DomainContext, customerId: string, id: string, fields: TeamFields): Promise<Team> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    if (!(await findTeam(trx, customerId, id))) throw teamNotFound();
    const row = await replaceTeam(trx, customerId, id, await checkedFields(trx, customerId, fields));
    if (!row) throw teamNotFound();
    const team = toTeam(row);
    await emit('team_updated', customerId, team);
    return team;
  });
}

export async function removeTeam(context: DomainContext, customerId: string, id: string): Promise<Team> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await deleteTeam(trx, customerId, id);
    if (!row) throw teamNotFound();
    const team = toTeam(row);
    await emit('team_deleted', customerId, team);
    return team;
  });
}
