import { randomUUID } from 'node:crypto';

/** A new resource id: a random (v4) UUID, generated in the service rather than the database. */
export function newId(): string {
  return randomUUID();
}
