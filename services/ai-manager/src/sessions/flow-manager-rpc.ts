import { rpcCall, type Bus } from '@avp/shared';

/**
 * An RPC to flow-manager on the bus, for a customer. Every flow-manager route on an activeflow,
 * its variables or a call checks that the resource is this customer's (404 otherwise), so an
 * id that came from a customer (an AIcall's `activeflow_id`) never reaches another customer's
 * flow. The id goes where flow-manager reads it: the query of a GET, the body otherwise.
 */
export function callFlowManager<T = unknown>(
  options: { bus: Bus; serviceName: string },
  customerId: string,
  method: 'POST' | 'GET' | 'DELETE',
  uri: string,
  data: Record<string, unknown> = {},
): Promise<T> {
  const request =
    method === 'GET'
      ? { uri: `${uri}${uri.includes('?') ? '&' : '?'}customer_id=${encodeURIComponent(customerId)}`, data: undefined }
      : { uri, data: { ...data, customer_id: customerId } };
  return rpcCall<T>(options.bus, 'flow-manager', method, request.uri, request.data, { publisher: options.serviceName, timeoutMs: 5000 });
}

/**
 * An RPC to a pipeline on the pipeline-manager instance that runs it, for the AIcall's
 * customer: pipeline-manager answers 404 for a pipeline of another customer's.
 */
export function callPipeline<T = unknown>(
  options: { bus: Bus; serviceName: string },
  aicall: { id: string; customer_id: string },
  instanceId: string,
  action: 'stop' | 'end' | 'messages' | 'dtmf',
  data: Record<string, unknown>,
  timeoutMs?: number,
): Promise<T> {
  return rpcCall<T>(options.bus, 'pipeline-manager', 'POST', `/v1/pipelines/${aicall.id}/${action}`, { ...data, customer_id: aicall.customer_id }, {
    instanceId,
    publisher: options.serviceName,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}
