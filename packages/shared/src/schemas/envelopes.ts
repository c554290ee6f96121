import { z } from 'zod';

/** HTTP-style methods used by RPC requests. */
export const rpcMethodSchema = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
export type RpcMethod = z.infer<typeof rpcMethodSchema>;

/** An RPC request on `<service>.request`: an HTTP-like call carried over the bus. */
export const rpcRequestSchema = z.object({
  /** Path with query string, `/v1/...` (no `/v1.0`). */
  uri: z.string().startsWith('/'),
  method: rpcMethodSchema,
  /** JSON body; absent for GET. */
  data: z.unknown().optional(),
  /** Name of the service sending the request (for logs). */
  publisher: z.string().optional(),
  /** Correlates log lines across services. */
  request_id: z.string().optional(),
});
export type RpcRequest = z.infer<typeof rpcRequestSchema>;

/** The reply to an RPC request. Errors carry the public error body in `data`. */
export const rpcResponseSchema = z.object({
  status_code: z.number().int().min(100).max(599),
  data: z.unknown().optional(),
});
export type RpcResponse = z.infer<typeof rpcResponseSchema>;

/** An event on `<service>.event`; the routing key is `type`. */
export const eventEnvelopeSchema = z.object({
  /** Event type, e.g. `aicall_status_progressing`; also the routing key. */
  type: z.string().min(1).regex(/^[a-z0-9_]+$/, 'lower_snake_case'),
  /** The service that published it. */
  publisher: z.string().min(1),
  data: z.unknown(),
  /**
   * A stable unique id of the event (ai-manager's events: the same on every copy, also a
   * republished one and every webhook attempt), so consumers can drop duplicates.
   */
  id: z.string().optional(),
  /** ai-manager's events: the customer's sequence number, increasing in commit order. */
  seq: z.number().int().positive().optional(),
});
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;
