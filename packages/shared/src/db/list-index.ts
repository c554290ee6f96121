import { sql, type Kysely } from 'kysely';

/**
 * For migrations: the index serving a newest-first list per owner over live rows,
 * `<table>_list_idx` on (owner, tm_create desc, id desc) where tm_delete is null. The owner
 * column is `customer_id` unless `leading` names another.
 */
export async function createListIndex(db: Kysely<unknown>, table: string, leading = 'customer_id'): Promise<void> {
  await db.schema
    .createIndex(`${table}_list_idx`)
    .on(table)
    .expression(sql`${sql.ref(leading)}, tm_create desc, id desc`)
    .where(sql.ref('tm_delete'), 'is', null)
    .execute();
}
