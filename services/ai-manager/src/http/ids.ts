import { appError, isUuid } from '@avp/shared';

/** A path id: a UUID (lower-cased), else 400 INVALID_ID. */
export function parseId(value: string, name = 'id'): string {
  if (!isUuid(value)) throw appError('INVALID_ID', `The ${name} in the path is not a valid UUID.`);
  return value.toLowerCase();
}
