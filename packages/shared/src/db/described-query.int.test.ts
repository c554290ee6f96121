import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPostgresDatabase, type TestPostgresDatabase } from '../testing/test-database.ts';
import { findInfrastructure } from '../testing/test-infrastructure.ts';
import { describedQuery, describedStatementName } from './described-query.ts';
import { postgresTypes } from './type-parsers.ts';

const types = postgresTypes as Parameters<typeof describedQuery>[3];
const select = 'select * from described_example.things where id = $1';

/** The row descriptions PostgreSQL sends to a client (one per described query). */
function countRowDescriptions(client: pg.PoolClient): { readonly count: number } {
  const counter = { count: 0 };
  (client as unknown as { connection: { on(event: string, listener: () => void): void } }).connection.on('rowDescription', () => {
    counter.count += 1;
  });
  return counter;
}

/**
 * A described query on a real PostgreSQL: the rows are exactly pg's own, the statement is
 * described on a connection's first run only, and failures (a bad value, a table whose columns
 * changed) leave the connection usable and the next run right.
 */
describe('describedQuery on PostgreSQL', () => {
  let testDatabase: TestPostgresDatabase | undefined;
  let pool: pg.Pool;

  beforeAll(async () => {
    const postgres = await findInfrastructure('postgres');
    if (!postgres.available) return;
    testDatabase = await createTestPostgresDatabase({ adminUrl: postgres.url });
    pool = new pg.Pool({ connectionString: testDatabase.url, max: 3, types: postgresTypes, options: '-c TimeZone=UTC' });
    await pool.query(`
      create schema described_example;
      create table described_example.things (
        id uuid primary key, name text not null, count int8, big int8, seen timestamptz, settings jsonb,
        tags text[], active boolean, note text
      );
      insert into described_example.things values
        ('7c2a61a0-3b8f-4c55-9a8e-3f0b8d7c1a01', 'first', 42, 9007199254740993, '2026-12-07 10:11:12.345678+00', '{"a": [1, 2]}', '{x,y}', true, null),
        ('7c2a61a0-3b8f-4c55-9a8e-3f0b8d7c1a02', 'second', null, null, null, null, '{}', false, 'n');
    `);
  }, 120_000);

  afterAll(async () => {
    await pool?.end();
    await testDatabase?.drop();
  });

  it("answers pg's own rows, describing the statement on a connection's first run only", async (context) => {
    if (!testDatabase) return context.skip();
    const client = await pool.connect();
    try {
      const descriptions = countRowDescriptions(client);
      for (const id of ['7c2a61a0-3b8f-4c55-9a8e-3f0b8d7c1a01', '7c2a61a0-3b8f-4c55-9a8e-3f0b8d7c1a02']) {
        const expected = (await client.query(select, [id])).rows;
        expect(expected).toHaveLength(1);
        const before = descriptions.count;
        for (let run = 0; run < 3; run++) expect(await describedQuery(client, select, [id], types)).toEqual(expected);
        // pg's own query was described once; the described query at most once on this connection.
        expect(descriptions.count - before).toBeLessThanOrEqual(1);
      }
      expect(descriptions.count).toBe(3); // two by pg's own queries, one by the first described run
      const [first] = await describedQuery(client, select, ['7c2a61a0-3b8f-4c55-9a8e-3f0b8d7c1a01'], types);
      expect(first).toMatchObject({ count: 42, big: 9007199254740993n, seen: '2026-12-07T10:11:12.345678Z', settings: { a: [1, 2] }, tags: ['x', 'y'], active: true, note: null });
      expect(await describedQuery(client, select, ['7c2a61a0-3b8f-4c55-9a8e-3f0b8d7c1a09'], types)).toEqual([]);
      const prepared = await client.query('select name from pg_prepared_statements');
      expect(prepared.rows.map((row: { name: string }) => row.name)).toContain(describedStatementName(select));
    } finally {
      client.release();
    }
  });

  it('rejects a bad value with PostgreSQL’s message and goes on working on the same connection', async (context) => {
    if (!testDatabase) return context.skip();
    const client = await pool.connect();
    try {
      await describedQuery(client, select, ['7c2a61a0-3b8f-4c55-9a8e-3f0b8d7c1a01'], types);
      await expect(describedQuery(client, select, ['not-a-uuid'], types)).rejects.toThrow(/invalid input syntax for type uuid/);
      await expect(describedQuery(client, select, ['not-a-uuid'], types)).rejects.toThrow(/invalid input syntax for type uuid/);
      const [row] = await describedQuery(client, select, ['7c2a61a0-3b8f-4c55-9a8e-3f0b8d7c1a01'], types);
      expect(row).toMatchObject({ name: 'first' });
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      client.release();
    }
  });

  it('recovers when the table’s columns change: one run fails as PostgreSQL says, the next answers the new shape', async (context) => {
    if (!testDatabase) return context.skip();
    const text = 'select * from described_example.shapes where id = $1';
    await pool.query('create table described_example.shapes (id int primary key, a text); insert into described_example.shapes values (1, \'a\')');
    const client = await pool.connect();
    try {
      expect(await describedQuery(client, text, [1], types)).toEqual([{ id: 1, a: 'a' }]);
      expect(await describedQuery(client, text, [1], types)).toEqual([{ id: 1, a: 'a' }]);
      await pool.query("alter table described_example.shapes add column b text not null default 'b'");
      await expect(describedQuery(client, text, [1], types)).rejects.toThrow(/cached plan must not change result type/);
      expect(await describedQuery(client, text, [1], types)).toEqual([{ id: 1, a: 'a', b: 'b' }]);
      expect(await describedQuery(client, text, [1], types)).toEqual([{ id: 1, a: 'a', b: 'b' }]);
    } finally {
      client.release();
    }
  });

  it('serves many concurrent queries over a small pool, each its own row', async (context) => {
    if (!testDatabase) return context.skip();
    const ids = ['7c2a61a0-3b8f-4c55-9a8e-3f0b8d7c1a01', '7c2a61a0-3b8f-4c55-9a8e-3f0b8d7c1a02'];
    const answers = await Promise.all(
      Array.from({ length: 60 }, async (_, index) => {
        const client = await pool.connect();
        try {
          return await describedQuery(client, select, [ids[index % 2]], types);
        } finally {
          client.release();
        }
      }),
    );
    answers.forEach((rows, index) => expect(rows.map((row) => row.name)).toEqual([index % 2 === 0 ? 'first' : 'second']));
  });
});
