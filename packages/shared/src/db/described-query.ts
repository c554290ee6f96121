import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type pg from 'pg';

/**
 * A read run as a named prepared statement whose result description is learnt once per
 * connection: the first run on a connection parses the statement and asks for its row
 * description (as pg does for every query); later runs send only Bind, Execute and Sync, so
 * PostgreSQL neither plans the SQL again nor sends the row description, and pg neither parses
 * that description nor builds its per-query field tables. For a wide row that description is
 * most of pg's work per query (an AI row has over forty columns).
 *
 * It is a pg "submittable" (the extension point pg-cursor uses): pg queues it like any query
 * and hands it the protocol messages. A failed run forgets what was learnt on that connection,
 * and the next run closes the statement and prepares it afresh, so a table whose columns
 * changed (PostgreSQL answers "cached plan must not change result type") recovers at the next
 * query. Values are mapped to the wire exactly as pg maps them.
 */

interface PgConnection {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
  stream: { cork?: () => void; uncork?: () => void };
  parse(query: { text: string; name: string; types: unknown[] }): void;
  bind(config: { portal: string; statement: string; values: readonly unknown[]; binary: boolean; valueMapper: (value: unknown) => unknown }): void;
  describe(message: { type: 'P' | 'S'; name: string }): void;
  execute(config: { portal: string; rows?: number }): void;
  close(message: { type: 'P' | 'S'; name: string }): void;
  sync(): void;
}

interface FieldDescription {
  name: string;
  dataTypeID: number;
  format?: string;
}

/** How to turn one statement's result columns into a row. */
interface RowShape {
  names: string[];
  parsers: ((text: string) => unknown)[];
}

type Parser = (text: string) => unknown;
type TypeParsers = { getTypeParser(oid: number, format: 'text'): Parser };

const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

/** Per connection: the row shapes learnt for its statements, and statements to re-prepare. */
interface ConnectionState {
  shapes: Map<string, RowShape>;
  stale: Set<string>;
}
const connections = new WeakMap<PgConnection, ConnectionState>();

function stateOf(connection: PgConnection): ConnectionState {
  let state = connections.get(connection);
  if (!state) {
    state = { shapes: new Map(), stale: new Set() };
    connections.set(connection, state);
  }
  return state;
}

const statementNames = new Map<string, string>();

/**
 * The statement name for some SQL: the same SQL gets the same name on every connection (kept,
 * since the SQL of hot reads is a handful of fixed texts).
 */
export function describedStatementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `avp_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (statementNames.size >= 1000) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

class DescribedQuery {
  /** Read by pg's client: it records the statement as parsed, or forgets it on an error. */
  readonly name: string;
  private connection: PgConnection | undefined;
  private shape: RowShape | undefined;
  private readonly rows: Record<string, unknown>[] = [];
  private failure: Error | undefined;
  private settled = false;

  constructor(
    readonly text: string,
    private readonly values: readonly unknown[],
    private readonly types: TypeParsers,
    private readonly callback: (error: Error | null, rows?: Record<string, unknown>[]) => void,
  ) {
    this.name = describedStatementName(text);
  }

  submit(connection: PgConnection): null {
    this.connection = connection;
    const state = stateOf(connection);
    const stale = state.stale.delete(this.name);
    if (stale) delete connection.parsedStatements[this.name];
    const parsed = connection.parsedStatements[this.name] !== undefined || connection.submittedNamedStatements[this.name] !== undefined;
    this.shape = parsed ? state.shapes.get(this.name) : undefined;
    connection.stream.cork?.();
    try {
      if (!parsed) {
        // After a failure the server may still hold the statement with its old plan.
        if (stale) connection.close({ type: 'S', name: this.name });
        connection.parse({ text: this.text, name: this.name, types: [] });
        connection.submittedNamedStatements[this.name] = this.text;
      }
      connection.bind({ portal: '', statement: this.name, values: this.values, binary: false, valueMapper: prepareValue });
      if (!this.shape) connection.describe({ type: 'P', name: '' });
      connection.execute({ portal: '' });
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(message: { fields: FieldDescription[] }): void {
    const shape: RowShape = {
      names: message.fields.map((field) => field.name),
      parsers: message.fields.map((field) => this.types.getTypeParser(field.dataTypeID, 'text')),
    };
    this.shape = shape;
    if (this.connection) stateOf(this.connection).shapes.set(this.name, shape);
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    const shape = this.shape;
    if (!shape || this.failure) return;
    try {
      const row: Record<string, unknown> = {};
      const { names, parsers } = shape;
      for (let index = 0; index < names.length; index++) {
        const raw = message.fields[index];
        row[names[index]!] = raw === null || raw === undefined ? null : parsers[index]!(raw);
      }
      this.rows.push(row);
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
    }
  }

  handleCommandComplete(): void {}

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleCopyInResponse(): void {}

  handleCopyData(): void {}

  handleError(error: Error): void {
    if (this.connection) {
      const state = stateOf(this.connection);
      state.shapes.delete(this.name);
      state.stale.add(this.name);
    }
    this.settle(this.failure ?? error);
  }

  handleReadyForQuery(): void {
    if (this.failure) this.settle(this.failure);
    else this.settle(null, this.rows);
  }

  private settle(error: Error | null, rows?: Record<string, unknown>[]): void {
    if (this.settled) return;
    this.settled = true;
    this.callback(error, rows);
  }
}

/**
 * Runs `text` with `values` on `client` as a described statement (see above) and answers its
 * rows, parsed with `types` (the pool's type parsers).
 */
export function describedQuery(client: pg.ClientBase, text: string, values: readonly unknown[], types: TypeParsers): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const query = new DescribedQuery(text, values, types, (error, rows) => (error ? reject(error) : resolve(rows!)));
    (client as unknown as { query(submittable: DescribedQuery): void }).query(query);
  });
}
