import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error.ts';

/**
 * Limits every request meets before any route's own validation, so that no route can forget
 * them: a JSON body nests at most {@link maxJsonDepth} arrays and objects, and no string of
 * the body, query or path holds what PostgreSQL cannot store.
 */

/**
 * Deepest nesting of arrays and objects a JSON body may have. Validation, `JSON.stringify`
 * and the database driver all recurse, so a body nested thousands deep would overflow the
 * stack in one of them; no request of the API comes near this.
 */
export const maxJsonDepth = 64;

/**
 * Whether the JSON text nests arrays and objects deeper than `limit`. A plain scan of the
 * text (strings skipped), run before parsing, so it cannot overflow the stack itself.
 */
export function jsonDepthExceeds(text: string, limit: number = maxJsonDepth): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index += 1; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7b || code === 0x5b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (code === 0x7d || code === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

/** The error of a body that nests too deeply. */
export function jsonTooDeepError(): AppError {
  return new AppError('JSON_TOO_DEEP', { message: `The request body nests arrays and objects deeper than ${maxJsonDepth} levels.` });
}

// PostgreSQL refuses U+0000 in text and jsonb, and jsonb refuses an unpaired surrogate
// (JSON.stringify writes it as "\ud800", which is not valid Unicode).
const unpairedSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function stringProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (unpairedSurrogate.test(text)) return 'must be valid Unicode (it holds an unpaired surrogate)';
  return undefined;
}

const maxProblems = 10;

/**
 * Every string (and object key) in `value` that cannot be stored, as `field: problem` with
 * the field's path written as validation errors write it (`parameter.notes.0`). `root` names
 * the value itself when it is a string. Walks without recursion.
 */
export function unstorableStrings(value: unknown, root: string): string[] {
  const problems: string[] = [];
  const pending: { value: unknown; path: string }[] = [{ value, path: '' }];
  while (pending.length > 0 && problems.length < maxProblems) {
    const { value: current, path } = pending.pop() as { value: unknown; path: string };
    if (typeof current === 'string') {
      const problem = stringProblem(current);
      if (problem) problems.push(`${path || root}: ${problem}`);
    } else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index -= 1) pending.push({ value: current[index], path: join(path, String(index)) });
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      for (let index = entries.length - 1; index >= 0; index -= 1) {
        const [key, child] = entries[index] as [string, unknown];
        const keyProblem = stringProblem(key);
        // The key cannot be printed as it is: name the object that holds it.
        if (keyProblem) problems.push(`${path || root}: a key ${keyProblem}`);
        else pending.push({ value: child, path: join(path, key) });
      }
    }
  }
  return problems;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * Refuses, with 400 VALIDATION_FAILED naming each field, a request whose path, query or body
 * holds a string the database cannot store. A root hook: it runs for every route, after the
 * route's authentication (onRequest) and before its schema validation.
 */
export function installStorableStringGuard(app: FastifyInstance): void {
  // A plain callback with a quick scan first: it runs for every request, nearly all of which
  // hold nothing suspicious, and the full walk (which names the fields) is only for those.
  app.addHook('preValidation', (request, _reply, done) => {
    if (!mayHoldUnstorable(request.params) && !mayHoldUnstorable(request.query) && !mayHoldUnstorable(request.body)) {
      done();
      return;
    }
    const problems = [
      ...unstorableStrings(request.params, '(path)'),
      ...unstorableStrings(request.query, '(query)'),
      ...unstorableStrings(request.body, '(body)'),
    ];
    done(problems.length > 0 ? new AppError('VALIDATION_FAILED', { message: problems.join('; '), details: { problems } }) : undefined);
  });
}

/** NUL or any surrogate (paired ones included): what {@link stringProblem} may refuse. */
// eslint-disable-next-line no-control-regex -- NUL is what it looks for
const suspicious = /[\u0000\ud800-\udfff]/;

/**
 * Whether `value` holds a string or key with NUL or a surrogate anywhere: false means
 * {@link unstorableStrings} finds nothing. Flat values are checked without allocating;
 * nested ones (request bodies) by a walk without recursion.
 */
function mayHoldUnstorable(value: unknown): boolean {
  if (typeof value === 'string') return suspicious.test(value);
  if (value === null || typeof value !== 'object') return false;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current === 'string') {
      if (suspicious.test(current)) return true;
    } else if (Array.isArray(current)) {
      for (const item of current) pending.push(item);
    } else if (current !== null && typeof current === 'object') {
      for (const key in current) {
        if (!Object.hasOwn(current, key)) continue;
        if (suspicious.test(key)) return true;
        pending.push((current as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}
