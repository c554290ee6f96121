import { describe, expect, it } from 'vitest';
import type { ContractContext } from './database-contract.ts';
import { createNote, listNotes, type Note } from './example-notes.ts';
import { newId } from './ids.ts';
import { jsonb } from './jsonb.ts';
import { listQuerySchema } from './pagination.ts';
import { creationTimestamps } from './timestamps.ts';

/** Pagination behaviour both engines must share; part of describeDatabaseContract. */
export function describePaginationContract(context: ContractContext): void {
  describe('pagination', () => {
    async function listAll(customer: string, pageSize: number): Promise<{ notes: Note[]; tokens: string[] }> {
      const notes: Note[] = [];
      const tokens: string[] = [];
      let token = '';
      for (let pages = 0; pages < 1000; pages += 1) {
        const page = await listNotes(context.db, customer, listQuerySchema.parse({ page_size: pageSize, page_token: token }));
        notes.push(...page.result);
        tokens.push(page.next_page_token);
        if (page.next_page_token === '') return { notes, tokens };
        token = page.next_page_token;
      }
      throw new Error('pagination did not end');
    }

    function newestFirst(notes: Note[]): Note[] {
      return [...notes].sort((a, b) =>
        a.tm_create === b.tm_create ? (a.id < b.id ? 1 : -1) : a.tm_create < b.tm_create ? 1 : -1,
      );
    }

    it('pages through rows sharing one microsecond or one millisecond without skipping or repeating any', async () => {
      const customer = newId();
      // 230 rows with an identical tm_create, as rows written in one statement by a clock
      // that ticks in milliseconds (PGlite's) would have.
      const shared = '2026-03-04T05:06:07.123456Z';
      await context.db
        .insertInto('notes')
        .values(
          Array.from({ length: 230 }, (_, index) => ({
            id: newId(),
            customer_id: customer,
            title: `shared ${index}`,
            detail: jsonb({}),
            tags: jsonb([]),
            tm_create: shared,
            tm_update: shared,
          })),
        )
        .execute();
      // Rows created back to back, mostly within one millisecond: distinct microseconds.
      for (let index = 0; index < 40; index += 1) {
        await createNote(context.db, { customer_id: customer, title: `quick ${index}` });
      }
      const all = await context.db.selectFrom('notes').selectAll().where('customer_id', '=', customer).execute();
      expect(all).toHaveLength(270);

      const { notes, tokens } = await listAll(customer, 7);
      expect(notes.map((note) => note.id)).toEqual(newestFirst(all).map((note) => note.id));
      expect(tokens.at(-1)).toBe('');
      expect(tokens.slice(0, -1).every((token) => /^\d{4}-.+\.\d{6}Z(_[0-9a-f-]{36})?$/.test(token))).toBe(true);
      expect(tokens.some((token) => token.includes('_'))).toBe(true);
    });

    it('uses the plain product token when the page boundary is not inside a tie', async () => {
      const customer = newId();
      const times = ['2026-05-01T00:00:00.000001Z', '2026-05-01T00:00:00.000002Z', '2026-05-01T00:00:00.000003Z'];
      for (const [index, tm_create] of times.entries()) {
        await createNote(context.db, { customer_id: customer, title: `t${index}`, tm_create });
      }
      const first = await listNotes(context.db, customer, { page_size: 2, page_token: '' });
      expect(first.result.map((note) => note.tm_create)).toEqual([times[2], times[1]]);
      expect(first.next_page_token).toBe(times[1]);
      const second = await listNotes(context.db, customer, { page_size: 2, page_token: first.next_page_token });
      expect(second.result.map((note) => note.tm_create)).toEqual([times[0]]);
      expect(second.next_page_token).toBe('');
    });

    it('honours a timestamp token written by a client, with fewer fraction digits too', async () => {
      const customer = newId();
      await createNote(context.db, { customer_id: customer, title: 'old', tm_create: '2026-06-01T00:00:00.100000Z' });
      await createNote(context.db, { customer_id: customer, title: 'new', tm_create: '2026-06-01T00:00:00.300000Z' });
      const page = await listNotes(context.db, customer, listQuerySchema.parse({ page_token: '2026-06-01T00:00:00.2Z' }));
      expect(page.result.map((note) => note.title)).toEqual(['old']);
    });

    it('returns an empty result and an empty token for an empty list', async () => {
      expect(await listNotes(context.db, newId(), listQuerySchema.parse({}))).toEqual({ result: [], next_page_token: '' });
    });

    it('gives exactly page_size rows when there are more', async () => {
      const customer = newId();
      for (let index = 0; index < 5; index += 1) {
        await createNote(context.db, { customer_id: customer, title: `n${index}`, ...creationTimestamps() });
      }
      const page = await listNotes(context.db, customer, listQuerySchema.parse({ page_size: '3' }));
      expect(page.result).toHaveLength(3);
      expect(page.next_page_token).toBe(page.result[2]!.tm_create);
    });
  });
}
