import { sql, type SelectQueryBuilder } from 'kysely';
import { z } from 'zod';
import { appError } from '../errors/index.ts';
import { toApiTimestamp, type Timestamp } from './timestamps.ts';

/**
 * List pagination as in the product: newest first, `page_size` items per page, and
 * `page_token` = the `tm_create` of the last item seen (`2026-01-02T03:04:05.123456Z`),
 * meaning "items created before this".
 *
 * Ties: several rows can share one `tm_create` (PGlite's clock ticks in milliseconds, and
 * rows written by different processes can coincide). Rows are ordered by
 * (tm_create desc, id desc), and when the page boundary falls inside such a tie the token
 * carries the last id as well, `2026-01-02T03:04:05.123456Z_<uuid>`, so nothing is skipped
 * or repeated. Otherwise the token is exactly the product's timestamp, and a plain
 * timestamp from a client is honoured as `tm_create < token`.
 *
 * `next_page_token` is empty when there is nothing after this page (we fetch one row more
 * than asked to know), so clients stop without an extra empty request. VoIPBIN returns a
 * token for every non-empty page; clients that loop until an empty page or an empty token
 * work with both.
 */

export const defaultPageSize = 100;
export const maxPageSize = 100;

const tokenPattern =
  /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z)(?:_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))?$/i;

/** Where the next page starts: strictly after (tm_create, id) in newest-first order. */
export interface PageCursor {
  tmCreate: Timestamp;
  /** Present only when the boundary fell inside a tie of equal `tm_create`. */
  id?: string;
}

/** Parses a page token; undefined for an empty token (no bound); throws VALIDATION_FAILED when malformed. */
export function parsePageToken(token: string): PageCursor | undefined {
  if (token === '') return undefined;
  const match = tokenPattern.exec(token);
  if (!match?.[1]) {
    throw appError('VALIDATION_FAILED', 'page_token must be a timestamp like 2026-01-02T03:04:05.123456Z');
  }
  const cursor: PageCursor = { tmCreate: toApiTimestamp(match[1]) };
  if (match[2]) cursor.id = match[2].toLowerCase();
  return cursor;
}

function effectivePageSize(size: number): number {
  return Number.isInteger(size) && size > 0 && size <= maxPageSize ? size : defaultPageSize;
}

/** `page_size`: default 100; zero, negative or over 100 mean 100 (as in the product); not a number is invalid. */
export const pageSizeSchema = z.coerce
  .number()
  .int()
  .optional()
  .transform((size) => effectivePageSize(size ?? defaultPageSize));

/** `page_token`: empty (first page) or a token from a previous `next_page_token`. */
export const pageTokenSchema = z
  .string()
  .default('')
  .refine((token) => token === '' || tokenPattern.test(token), {
    message: 'page_token must be a timestamp like 2026-01-02T03:04:05.123456Z',
  });

/** Query parameters of every list endpoint; extend it with the endpoint's filters. */
export const listQuerySchema = z.object({ page_size: pageSizeSchema, page_token: pageTokenSchema });

/** A validated list query: `page_size` within 1..100, `page_token` possibly empty. */
export type ListQuery = z.output<typeof listQuerySchema>;

/** The body of every list response. */
export interface ListResponse<Item> {
  result: Item[];
  next_page_token: string;
}

/** What a row needs for pagination. */
export interface PageRow {
  id: string;
  tm_create: Timestamp;
}

/** Options for paginate. */
export interface PaginateOptions {
  /** Table name or alias to qualify `tm_create` and `id` with, needed when the query joins. */
  table?: string;
}

/**
 * Adds the page bound, newest-first order and limit (one more than the page size, see
 * toListResponse) to a select. The selection must include `id` and `tm_create`; an index
 * on (<owner column>, tm_create desc, id desc) serves it.
 */
export function paginate<DB, TB extends keyof DB, Row extends PageRow>(
  query: SelectQueryBuilder<DB, TB, Row>,
  page: ListQuery,
  options: PaginateOptions = {},
): SelectQueryBuilder<DB, TB, Row> {
  const prefix = options.table ? `${options.table}.` : '';
  const created = sql.ref(`${prefix}tm_create`);
  const id = sql.ref(`${prefix}id`);
  const cursor = parsePageToken(page.page_token);
  let bounded = query;
  if (cursor?.id !== undefined) {
    bounded = query.where(sql<boolean>`(${created}, ${id}) < (${cursor.tmCreate}, ${cursor.id})`);
  } else if (cursor) {
    bounded = query.where(sql<boolean>`${created} < ${cursor.tmCreate}`);
  }
  return bounded.orderBy(created, 'desc').orderBy(id, 'desc').limit(effectivePageSize(page.page_size) + 1);
}

/**
 * Turns rows fetched by `paginate` into `{ result, next_page_token }`, optionally
 * projecting each row to its API shape. `pageSize` must be the one given to paginate.
 */
export function toListResponse<Row extends PageRow, Item = Row>(
  rows: readonly Row[],
  pageSize: number,
  project?: (row: Row) => Item,
): ListResponse<Item> {
  const size = effectivePageSize(pageSize);
  const page = rows.slice(0, size);
  const last = page.at(-1);
  const following = rows[size];
  let nextPageToken = '';
  if (last && following) {
    nextPageToken = following.tm_create === last.tm_create ? `${last.tm_create}_${last.id}` : last.tm_create;
  }
  const result = project ? page.map(project) : (page as unknown as Item[]);
  return { result, next_page_token: nextPageToken };
}

/** Runs a paginated select and returns the list response: paginate + execute + toListResponse. */
export async function listPage<DB, TB extends keyof DB, Row extends PageRow, Item = Row>(
  query: SelectQueryBuilder<DB, TB, Row>,
  page: ListQuery,
  options: PaginateOptions & { project?: (row: Row) => Item } = {},
): Promise<ListResponse<Item>> {
  const rows = await paginate(query, page, options).execute();
  return toListResponse(rows as Row[], page.page_size, options.project);
}
