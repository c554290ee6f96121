import { rpcCall } from '@avp/shared';
import { expect } from 'vitest';
import { call, type ApiResponse, type Harness } from '../harness.ts';

/** Documents and helpers shared by the knowledge base suites. */

export interface Passage {
  knowledgebase_id: string;
  document_id: string;
  document_name: string;
  source: string;
  position: number;
  content: string;
  rank: number;
}

/** A paragraph of filler of about `length` characters that no test searches for. */
function filler(topic: string, length = 700): string {
  const sentence = `This paragraph about ${topic} is here to make the document longer than one passage. `;
  return sentence.repeat(Math.ceil(length / sentence.length)).trim();
}

export const refundsDocument = {
  name: 'Returns and refunds',
  source: 'https://acme.example/help/refunds',
  content: [
    filler('our company history'),
    filler('the people who work here'),
    'Damaged items can be returned within 30 days for a full refund. Send a photo of the damaged item with your order number and we refund the price within five working days.',
    filler('our newsletter'),
  ].join('\n\n'),
};
export const shippingDocument = {
  name: 'Shipping',
  source: 'shipping.md',
  content: 'We ship to every country in Europe. Shipping costs 5 euros per order. Shipping costs are not refunded.',
};
export const hoursDocument = {
  name: 'Opening hours',
  source: 'hours.txt',
  content: 'The shop is open Monday to Friday from 9 to 17 and on Saturday from 10 to 14. On Sunday the shop is closed.',
};

export async function createKnowledgebase(harness: Harness, key: string, body: Record<string, unknown> = {}): Promise<string> {
  const created = await call(harness, 'POST', '/v1.0/knowledgebases', { key, body: { name: 'help center', language: 'en-US', ...body } });
  expect(created.status).toBe(200);
  return created.body.id as string;
}

export async function addDocument(harness: Harness, key: string, knowledgebaseId: string, body: Record<string, unknown>): Promise<ApiResponse> {
  const added = await call(harness, 'POST', `/v1.0/knowledgebases/${knowledgebaseId}/documents`, { key, body });
  expect(added.status).toBe(200);
  return added;
}

export async function search(harness: Harness, key: string, knowledgebaseId: string, q: string, limit?: number): Promise<Passage[]> {
  const query = new URLSearchParams({ q, ...(limit !== undefined ? { limit: String(limit) } : {}) });
  const found = await call(harness, 'GET', `/v1.0/knowledgebases/${knowledgebaseId}/search?${query}`, { key });
  expect(found.status).toBe(200);
  return found.body.result as Passage[];
}

/** The error body without its request id, which differs per request. */
export function withoutRequestId(response: ApiResponse) {
  const { request_id: _requestId, ...error } = response.body.error;
  return { status: response.status, error };
}

/** Runs a tool of an AIcall the way the pipeline does (bus route into ToolExecutor.execute, naming the AIcall's customer). */
export async function executeTool(harness: Harness, aicall: { id: string; customer_id: string }, name: string, args: unknown) {
  return rpcCall<{ tool_call_id: string; result: string; message: string; resource_type: string; resource_id: string; data?: Passage[] }>(
    harness.bus,
    'ai-manager',
    'POST',
    `/v1/aicalls/${aicall.id}/tool_execute`,
    { customer_id: aicall.customer_id, id: 'call-1', name, arguments: JSON.stringify(args) },
  );
}
