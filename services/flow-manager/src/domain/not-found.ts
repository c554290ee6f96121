import { appError, type AppError } from '@avp/shared';

/** The 404 for a missing resource; another customer's resource gets exactly the same one. */
export function notFound(resource: string): AppError {
  return appError('RESOURCE_NOT_FOUND', `${resource} not found.`);
}
