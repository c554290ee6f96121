import { appError, type AppError } from '@avp/shared';

/**
 * The one "missing" error of a resource kind. A resource of another customer gets exactly
 * this error too, so a caller cannot tell "someone else's" from "does not exist".
 */
export function notFound(kind: 'AI' | 'AIcall' | 'AI message' | 'AI summary' | 'customer' | 'access key' | 'billing account' | 'knowledge base' | 'knowledge base document' | 'call' | 'activeflow' | 'conversation channel' | 'conversation' | 'conversation message' | 'transcribe' | 'flow' | 'recording'): AppError {
  return appError('RESOURCE_NOT_FOUND', `No ${kind} with this id.`);
}
