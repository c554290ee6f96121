/**
 * The console's only way to the platform: the public REST API under /v1.0 with the signed-in
 * access key (`Authorization: Bearer`), the same requests any customer's program makes.
 */

const storageKey = 'avp-console-access-key';

/** An error answer of the API (the catalog's body), with the field problems of a 400. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    /** `details.problems` of a VALIDATION_FAILED answer: `field: problem` each. */
    readonly problems: string[],
  ) {
    super(message);
  }
}

/** The access key of this tab (sessionStorage only: it ends with the tab). */
export function storedKey(): string | undefined {
  return sessionStorage.getItem(storageKey) ?? undefined;
}

export function storeKey(key: string | undefined): void {
  if (key) sessionStorage.setItem(storageKey, key);
  else sessionStorage.removeItem(storageKey);
}

/** A list page of the API. */
export interface Page<T> {
  result: T[];
  next_page_token: string;
}

/** Calls the API with the stored key (or `key`); an error answer throws {@link ApiError}. */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, key = storedKey()): Promise<T> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { reason?: string; message?: string; details?: { problems?: unknown } } } | undefined)?.error;
    const problems = Array.isArray(error?.details?.problems) ? error.details.problems.filter((item): item is string => typeof item === 'string') : [];
    throw new ApiError(response.status, error?.reason ?? 'HTTP_ERROR', error?.message ?? `${method} ${path} answered ${response.status}`, problems);
  }
  return parsed as T;
}

/** Every item of a list endpoint, following `next_page_token` (at most `maxPages` pages). */
export async function listAll<T>(path: string, maxPages = 10): Promise<T[]> {
  const items: T[] = [];
  let token = '';
  for (let page = 0; page < maxPages; page += 1) {
    const separator = path.includes('?') ? '&' : '?';
    const answer = await api<Page<T>>('GET', `${path}${separator}page_size=100${token ? `&page_token=${encodeURIComponent(token)}` : ''}`);
    items.push(...answer.result);
    token = answer.next_page_token;
    if (!token) break;
  }
  return items;
}
