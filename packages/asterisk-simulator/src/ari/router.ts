import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error answered the way ARI answers: status code and `{"message": "..."}`. */
export class AriError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Request parameters. ARI takes every parameter from the query string or from a JSON
 * body object; `variables` (originate, externalMedia) comes from the body.
 */
export class Parameters {
  constructor(
    private readonly query: URLSearchParams,
    readonly body: Record<string, unknown>,
  ) {}

  string(name: string): string | undefined {
    const fromQuery = this.query.get(name);
    if (fromQuery !== null) return fromQuery;
    const value = this.body[name];
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return undefined;
  }

  required(name: string, message?: string): string {
    const value = this.string(name);
    if (value === undefined || value === '') throw new AriError(400, message ?? `${name}: Missing required field`);
    return value;
  }

  number(name: string, fallback: number): number {
    const value = this.string(name);
    if (value === undefined || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw new AriError(400, `${name}: Invalid number`);
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.string(name);
    if (value === undefined || value === '') return fallback;
    return value === 'true' || value === '1' || value === 'yes';
  }

  /** A comma-separated list (`media=sound:a,sound:b`, `channel=id1,id2`), repeated keys included. */
  list(name: string): string[] {
    const values = this.query.getAll(name);
    const body = this.body[name];
    if (typeof body === 'string') values.push(body);
    if (Array.isArray(body)) for (const item of body) if (typeof item === 'string') values.push(item);
    return values.flatMap((value) => value.split(',')).filter((value) => value.length > 0);
  }

  variables(): Record<string, string> {
    const raw = this.body.variables;
    const out: Record<string, string> = {};
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) out[key] = String(value);
    }
    return out;
  }
}

export interface RouteResult {
  status: number;
  body?: unknown;
  /**
   * Runs once the response has been written. Asterisk answers some requests before the work
   * they start is done (externalMedia replies before its channel enters Stasis).
   */
  afterResponse?: () => void;
  /** Extra response headers (`Location` of a created recording). */
  headers?: Record<string, string>;
  /** A body that is not JSON (a stored recording's file), with its Content-Type. */
  file?: { contentType: string; data: Buffer };
}

export type RouteHandler = (params: Record<string, string>, parameters: Parameters) => RouteResult | Promise<RouteResult>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

/** A tiny method + path router for the ARI resources (paths relative to /ari). */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: RouteHandler): void {
    const names: string[] = [];
    const source = path.replace(/\{(\w+)\}/g, (_match, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
  }

  async handle(request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    let pathMatched = false;
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== request.method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => (params[name] = decodeURIComponent(match[index + 1] ?? '')));
      try {
        const body = await readJsonBody(request);
        const result = await route.handler(params, new Parameters(query, body));
        if (result.file) {
          response.writeHead(result.status, { ...result.headers, 'content-type': result.file.contentType, 'content-length': result.file.data.length }).end(result.file.data);
        } else send(response, result.status, result.body, result.afterResponse, result.headers);
      } catch (error) {
        if (error instanceof AriError) send(response, error.status, { message: error.message });
        else send(response, 500, { message: 'Internal Server Error' });
      }
      return;
    }
    if (pathMatched) send(response, 405, { message: 'Method Not Allowed' });
    else send(response, 404, { message: 'Resource not found' });
  }
}

export function send(response: ServerResponse, status: number, body?: unknown, afterResponse?: () => void, headers: Record<string, string> = {}): void {
  // After the response is flushed, or after the client went away: the work goes on either way.
  let done = false;
  const written = () => {
    if (done) return;
    done = true;
    afterResponse?.();
  };
  if (afterResponse) response.once('close', written);
  if (body === undefined) {
    response.writeHead(status, headers).end(written);
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text, written);
}

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return {};
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  const type = request.headers['content-type'] ?? '';
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    throw new AriError(400, 'Malformed JSON body');
  }
}
