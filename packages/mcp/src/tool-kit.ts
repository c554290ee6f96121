import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ApiClient, ApiRequest } from './api-client.ts';

/** An answer of the API with a 4xx or 5xx status. */
export class ApiFailure extends Error {
  constructor(
    readonly request: ApiRequest,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(describeFailure(request, status, body));
    this.name = 'ApiFailure';
  }
}

interface ErrorBody {
  error?: { reason?: unknown; message?: unknown; request_id?: unknown; details?: unknown };
}

/**
 * The platform's error as a model can act on it: the status, the catalog reason
 * (`VALIDATION_FAILED`, `RESOURCE_NOT_FOUND`, ...), the message naming the field or the
 * resource, and the details when there are any.
 */
function describeFailure(request: ApiRequest, status: number, body: unknown): string {
  const error = (body as ErrorBody | undefined)?.error;
  const reason = typeof error?.reason === 'string' ? error.reason : 'ERROR';
  const message = typeof error?.message === 'string' ? error.message : typeof body === 'string' ? body.slice(0, 500) : 'no message';
  const lines = [`The platform answered ${request.method} ${request.path} with ${status} ${reason}: ${message}`];
  if (error?.details !== undefined) lines.push(`details: ${JSON.stringify(error.details)}`);
  if (typeof error?.request_id === 'string') lines.push(`request_id: ${error.request_id}`);
  return lines.join('\n');
}

/** Sends a request and answers the body; a 4xx or 5xx answer throws an ApiFailure. */
export async function send(client: ApiClient, request: ApiRequest): Promise<unknown> {
  const response = await client.request(request);
  if (response.status >= 400) throw new ApiFailure(request, response.status, response.body);
  return response.body;
}

/** A tool's answer: the API's JSON, pretty-printed (models read it; clients show it). */
export function jsonResult(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) ?? 'null' }] };
}

/** A tool error (`isError: true`): the model sees it and can correct itself; nothing crashes. */
export function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/**
 * Wraps a tool's work: its value becomes a JSON result, an API error a tool error carrying
 * the platform's reason and message, and a failure to reach the API a tool error saying so.
 */
export function handler<Args>(run: (args: Args) => Promise<unknown>): (args: Args) => Promise<CallToolResult> {
  return async (args) => {
    try {
      return jsonResult(await run(args));
    } catch (error) {
      if (error instanceof ApiFailure) return errorResult(error.message);
      return errorResult(`The platform's API could not be reached: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}

/** The fields the API never answers with; removed again here should a response ever carry them. */
const secretFields = ['engine_key', 'fallback_engine_key'];

/** An AI (or a list page of AIs) without write-only secrets. */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (secretFields.includes(key)) continue;
    copy[key] = key === 'result' ? withoutSecrets(field) : field;
  }
  return copy;
}

/** A resource id: the API's ids are UUIDs (a malformed one is the API's 400 INVALID_ID). */
export const idSchema = z.string().min(1).describe('The id (a UUID) as the API gave it.');

/** The list pagination every list tool takes. */
export const pageShape = {
  page_size: z.number().int().min(1).max(100).optional().describe('How many items to return (1-100, default 100).'),
  page_token: z.string().optional().describe('The next_page_token of the previous page, to read the next one; lists are newest first.'),
};

/** Picks the given keys of an object that are defined. */
export function definedFields(source: Record<string, unknown>, keys?: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && (!keys || keys.includes(key))) picked[key] = value;
  }
  return picked;
}
