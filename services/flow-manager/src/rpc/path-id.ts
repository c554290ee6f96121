import { appError, isUuid } from '@avp/shared';

/** A path id of a bus route: a UUID (400 `INVALID_ID` otherwise), lower-cased. */
export function id(value: string | undefined, name = 'id'): string {
  if (!value || !isUuid(value)) throw appError('INVALID_ID', `The ${name} is not a valid UUID.`);
  return value.toLowerCase();
}
