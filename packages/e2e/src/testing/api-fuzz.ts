import { errorBodySchema, errorStatuses } from '@avp/shared';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { hostileValue, replaceAt, schemaArbitrary, valuePaths, type JsonSchema } from './schema-arbitrary.ts';

/** One operation of an OpenAPI document: what a request to it is made of. */
export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path template, `/v1.0/ais/{id}`. */
  path: string;
  /** Whether it takes the admin token rather than an access key. */
  admin: boolean;
  body: JsonSchema | undefined;
  query: { name: string; required: boolean; schema: JsonSchema }[];
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { security?: Record<string, unknown>[]; parameters?: { in: string; name: string; required?: boolean; schema: JsonSchema }[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
}

/** Every operation of the documents, each once. */
export function operationsOf(...documents: unknown[]): Operation[] {
  const operations = new Map<string, Operation>();
  for (const document of documents as OpenApiDocument[]) {
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const upper = method.toUpperCase() as Operation['method'];
        if (!['GET', 'POST', 'PUT', 'DELETE'].includes(upper)) continue;
        const described: Operation = {
          method: upper,
          path,
          admin: (operation.security ?? []).some((requirement) => 'adminToken' in requirement),
          body: operation.requestBody?.content?.['application/json']?.schema,
          query: (operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map(({ name, required, schema }) => ({ name, required: required ?? false, schema })),
        };
        // A counterexample names the operation, not its schemas.
        operations.set(`${upper} ${path}`, Object.assign(described, { [fc.toStringMethod]: () => `${upper} ${path}` }));
      }
    }
  }
  return [...operations.values()];
}

/**
 * Ids the responses named, by collection path (`/v1.0/ais`, `/v1.0/knowledgebases/{id}/documents`),
 * so that requests can name things that exist. Ids in `protectedIds` (the caller's own customer
 * and key) are never handed out: deleting them would end the run.
 */
export class IdPool {
  private readonly byCollection = new Map<string, string[]>();

  constructor(private readonly protectedIds: ReadonlySet<string>) {}

  /** Notes the ids of a 2xx response to `operation`. */
  record(operation: Operation, body: unknown): void {
    const collection = operation.path.endsWith('}') ? operation.path.slice(0, operation.path.lastIndexOf('/')) : operation.path;
    const found = body as { id?: unknown; result?: { id?: unknown }[] } | undefined;
    const ids = [found?.id, ...(Array.isArray(found?.result) ? found.result.map((item) => item?.id) : [])];
    for (const id of ids) if (typeof id === 'string' && !this.protectedIds.has(id)) this.add(collection, id);
  }

  add(collection: string, id: string): void {
    const ids = this.byCollection.get(collection) ?? [];
    if (!ids.includes(id)) ids.push(id);
    this.byCollection.set(collection, ids);
  }

  /** The `choice`-th known id of the collection whose last segment is `<stem>s` (any collection when none matches). */
  pick(stem: string, choice: number): string | undefined {
    const collection = [...this.byCollection.keys()].find((path) => path.split('/').at(-1) === `${stem}s`);
    const ids = collection ? (this.byCollection.get(collection) ?? []) : [...this.byCollection.values()].flat();
    return ids.length > 0 ? ids[choice % ids.length] : undefined;
  }
}

/** A generated request, with ids still as references to resolve against the pool when it is sent. */
export interface FuzzRequest {
  operation: Operation;
  pathValues: Record<string, IdChoice>;
  query: [string, unknown][];
  body: { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; contentType: string; text: string };
}

/** An id: one the pool knows (by stem), a random UUID, or anything else. */
export type IdChoice = { known: string; choice: number } | { literal: string };

/** Marks a string to be replaced by a known id when the request is sent. */
const idMark = '\u{E000}id:';

function idArbitrary(stem: string): fc.Arbitrary<IdChoice> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.nat().map((choice) => ({ known: stem, choice })) },
    { weight: 2, arbitrary: fc.uuid().map((literal) => ({ literal })) },
    { weight: 1, arbitrary: hostileValue.map((value) => ({ literal: typeof value === 'string' ? value : JSON.stringify(value) })) },
  );
}

/** `flow_id` -> `flow`, `knowledgebase_ids` -> `knowledgebase`, `call_flow_id` -> `flow`. */
function stemOf(field: string): string {
  const words = field.replace(/_ids?$/, '').split('_');
  return words.at(-1) ?? field;
}

const bodyIdArbitrary = (field: string): fc.Arbitrary<string> =>
  fc.oneof({ weight: 3, arbitrary: fc.nat().map((choice) => `${idMark}${stemOf(field)}:${choice}`) }, { weight: 1, arbitrary: fc.uuid() });

/**
 * Requests to `operation`: path ids, query parameters and a body from its schemas, or (when
 * `example` is given, a body known to be accepted) that body with one value replaced by a
 * hostile one, which is what reaches the database with one bad field.
 */
export function requestArbitrary(operation: Operation, example: unknown): fc.Arbitrary<FuzzRequest> {
  const options = { uuid: bodyIdArbitrary, hostileWeight: 2 };
  const segments = operation.path.split('/');
  // A path id belongs to the collection before it: `/knowledgebases/{id}/documents/{document_id}`.
  const pathValues = fc.record(
    Object.fromEntries(
      segments.flatMap((segment, position) => {
        const name = /^\{(\w+)\}$/.exec(segment)?.[1];
        return name ? [[name, idArbitrary((segments[position - 1] ?? '').replace(/s$/, ''))]] : [];
      }),
    ),
  ) as fc.Arbitrary<Record<string, IdChoice>>;
  const query = fc
    .tuple(...operation.query.map((parameter) => fc.option(schemaArbitrary(parameter.schema, options, parameter.name), { nil: undefined, freq: parameter.required ? 20 : 2 }).map((value) => [parameter.name, value] as [string, unknown])))
    .map((pairs) => pairs.filter(([, value]) => value !== undefined));
  const bodies: fc.WeightedArbitrary<FuzzRequest['body']>[] = [];
  if (operation.body) bodies.push({ weight: 4, arbitrary: schemaArbitrary(operation.body, options).map((value) => ({ kind: 'json' as const, value })) });
  if (example !== undefined) {
    const paths = valuePaths(example);
    const mutated = fc.tuple(fc.nat(paths.length - 1), hostileValue).map(([index, value]) => replaceAt(example, paths[index] ?? [], value));
    bodies.push({ weight: 6, arbitrary: mutated.map((value) => ({ kind: 'json' as const, value })) });
  }
  if (operation.body) {
    bodies.push({
      weight: 1,
      arbitrary: fc.constantFrom(
        { kind: 'raw' as const, contentType: 'application/json', text: '{"name": ' },
        { kind: 'raw' as const, contentType: 'application/json', text: `${'['.repeat(5000)}${']'.repeat(5000)}` },
        { kind: 'raw' as const, contentType: 'text/plain', text: 'hello' },
        { kind: 'raw' as const, contentType: 'application/json; charset=latin1', text: '{"name":"\u00e9"}' },
      ),
    });
  }
  const body = bodies.length > 0 ? fc.oneof(...bodies) : fc.constant({ kind: 'none' as const });
  return fc.record({ operation: fc.constant(operation), pathValues, query, body });
}

/**
 * encodeURIComponent, except that an unpaired surrogate (which it refuses) is sent as the
 * bytes WTF-8 gives it: not valid UTF-8, which is the point.
 */
const unpairedSurrogate = /([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/;

function encodeComponent(text: string): string {
  return text
    .split(unpairedSurrogate)
    .map((part, index) => {
      // split() puts the captured surrogates at the odd indexes.
      if (index % 2 === 0) return encodeURIComponent(part);
      const code = part.charCodeAt(0);
      return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('');
    })
    .join('');
}

/** The request as sent: ids resolved against the pool. */
export function resolveRequest(request: FuzzRequest, pool: IdPool): { method: Operation['method']; url: string; payload?: string; contentType?: string } {
  const resolve = (choice: IdChoice): string => ('literal' in choice ? choice.literal : (pool.pick(choice.known, choice.choice) ?? '00000000-0000-4000-8000-000000000000'));
  const path = request.operation.path.replace(/\{(\w+)\}/g, (_match, name: string) => encodeComponent(resolve(request.pathValues[name] as IdChoice)));
  const search = request.query.map(([name, value]) => `${encodeComponent(name)}=${encodeComponent(typeof value === 'string' ? value : JSON.stringify(value))}`).join('&');
  const url = search ? `${path}?${search}` : path;
  if (request.body.kind === 'none') return { method: request.operation.method, url };
  if (request.body.kind === 'raw') return { method: request.operation.method, url, payload: request.body.text, contentType: request.body.contentType };
  const text = JSON.stringify(request.body.value, (_key, value: unknown) => {
    if (typeof value !== 'string' || !value.startsWith(idMark)) return value;
    const [stem, choice] = value.slice(idMark.length).split(':');
    return pool.pick(stem ?? '', Number(choice)) ?? '00000000-0000-4000-8000-000000000000';
  });
  return { method: request.operation.method, url, payload: text ?? 'null', contentType: 'application/json' };
}

/**
 * Sends the request and checks the answer: never a 5xx, and every error the documented body
 * with a status that fixes the HTTP code and the response's request id. Returns the body.
 */
export async function sendChecked(app: FastifyInstance, sent: ReturnType<typeof resolveRequest>, authorization: string): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { authorization: `Bearer ${authorization}` };
  if (sent.contentType) headers['content-type'] = sent.contentType;
  const response = await app.inject({ method: sent.method, url: sent.url, headers, ...(sent.payload !== undefined ? { payload: sent.payload } : {}) });
  const described = `${sent.method} ${sent.url.slice(0, 300)} -> ${response.statusCode} ${response.body.slice(0, 500)}`;
  if (response.statusCode >= 500) throw new Error(`server error: ${described}`);
  const body: unknown = response.body ? JSON.parse(response.body) : undefined;
  if (response.statusCode >= 400) {
    const parsed = errorBodySchema.strict().safeParse(body);
    if (!parsed.success) throw new Error(`not the documented error body: ${described}`);
    if (errorStatuses[parsed.data.error.status] !== response.statusCode) throw new Error(`status ${parsed.data.error.status} does not match the HTTP code: ${described}`);
    if (parsed.data.error.request_id !== response.headers['x-request-id']) throw new Error(`request_id differs from x-request-id: ${described}`);
  }
  return { status: response.statusCode, body };
}
