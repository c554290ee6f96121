import { creationTimestamps, deletionTimestamps, jsonb, listPage, updateTimestamps, type ListQuery } from '@avp/shared';
import type { Selectable } from 'kysely';
import type { AiManagerDb, TeamMemberColumn, TeamsTable } from '../../db/tables.ts';

export type TeamRow = Selectable<TeamsTable>;

/** Every stored field of a team but its id, owner and timestamps. */
export interface TeamRowFields {
  name: string;
  detail: string;
  start_member_id: string;
  members: TeamMemberColumn[];
  parameter: Record<string, unknown>;
}

function toColumns(fields: TeamRowFields) {
  return { ...fields, members: jsonb(fields.members), parameter: jsonb(fields.parameter) };
}

export async function insertTeam(db: AiManagerDb, id: string, customerId: string, fields: TeamRowFields): Promise<TeamRow> {
  return db
    .insertInto('teams')
    .values({ id, customer_id: customerId, ...toColumns(fields), ...creationTimestamps() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * A live team of this customer; another customer's is "not there". `deleted: true` also finds a
 * soft-deleted one: a session that started with a team runs to its end after the team is deleted.
 */
export async function findTeam(db: AiManagerDb, customerId: string, id: string, options: { deleted?: boolean } = {}): Promise<TeamRow | undefined> {
  let query = db.selectFrom('teams').selectAll().where('id', '=', id).where('customer_id', '=', customerId);
  if (!options.deleted) query = query.where('tm_delete', 'is', null);
  return query.executeTakeFirst();
}

export async function replaceTeam(db: AiManagerDb, customerId: string, id: string, fields: TeamRowFields): Promise<TeamRow | undefined> {
  return db
    .updateTable('teams')
    .set({ ...toColumns(fields), ...updateTimestamps() })
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteTeam(db: AiManagerDb, customerId: string, id: string): Promise<TeamRow | undefined> {
  return db
    .updateTable('teams')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function listTeams(db: AiManagerDb, customerId: string, page: ListQuery) {
  const query = db.selectFrom('teams').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  return listPage(query, page);
}
