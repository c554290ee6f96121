import { z } from 'zod';
import { appError } from '../errors/app-error.ts';
import type { RpcRouteContext } from './rpc-router.ts';

const customerIdSchema = z.uuid();

/**
 * The customer an internal (bus) request acts for, and the request's data without it.
 *
 * Every bus route that acts on a customer's resource (an activeflow, its variables, a call,
 * a bridge, an AIcall, a pipeline) carries the owning customer's id and looks the resource up
 * with it, so an id of another customer's resource finds nothing: 404, exactly like a missing
 * one. The services trust each other, but the ids they pass on often came from a customer
 * (`activeflow_id` in `POST /v1.0/aicalls`); checking the owner at every route means no such id
 * reaches another tenant's data. The id goes in the query (`?customer_id=`) of a GET and in
 * the JSON body (`customer_id`) of every other method; without it the request is a 400.
 */
export function rpcCustomer(context: Pick<RpcRouteContext, 'query' | 'data' | 'request'>): { customerId: string; data: unknown } {
  const fromBody = context.request.method !== 'GET';
  const body = fromBody && typeof context.data === 'object' && context.data !== null && !Array.isArray(context.data) ? (context.data as Record<string, unknown>) : undefined;
  const value = fromBody ? body?.customer_id : context.query.get('customer_id');
  const parsed = customerIdSchema.safeParse(value);
  if (!parsed.success) {
    const where = fromBody ? 'customer_id in the body' : 'the customer_id query parameter';
    throw appError('VALIDATION_FAILED', `customer_id: required (${where}): the id of the customer the request acts for.`);
  }
  if (!body) return { customerId: parsed.data.toLowerCase(), data: context.data };
  const { customer_id: _customerId, ...rest } = body;
  return { customerId: parsed.data.toLowerCase(), data: rest };
}
