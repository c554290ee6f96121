import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pgliteParsers } from './type-parsers.ts';

/**
 * One PGlite instance per data folder per process. PGlite is a single-connection database
 * living inside this process; two instances on one folder would corrupt it. In the
 * one-process mode the three services each open "their" database on the same folder and
 * get a lease on the same instance; the instance closes when the last lease is released.
 */

/** A claim on a shared PGlite instance. */
export interface PgliteLease {
  readonly pglite: PGlite;
  /** Gives the claim back; idempotent. The last release closes the instance. */
  release(): Promise<void>;
}

interface OpenInstance {
  instance: Promise<PGlite>;
  leases: number;
}

const openInstances = new Map<string, OpenInstance>();
// A closing instance must finish before the same folder is opened again.
const closingInstances = new Map<string, Promise<void>>();

async function openPglite(directory: string): Promise<PGlite> {
  await closingInstances.get(directory);
  await mkdir(directory, { recursive: true });
  const pglite = await PGlite.create(directory, { parsers: pgliteParsers });
  // Same session time zone as the pg pools, so date functions agree on both drivers.
  await pglite.exec(`set time zone 'UTC'`);
  return pglite;
}

/** Leases the PGlite instance whose data lives in `directory`, opening it if needed. */
export async function leasePglite(directory: string): Promise<PgliteLease> {
  const key = path.resolve(directory);
  let open = openInstances.get(key);
  if (!open) {
    const created: OpenInstance = { instance: openPglite(key), leases: 0 };
    openInstances.set(key, created);
    created.instance.catch(() => {
      if (openInstances.get(key) === created) openInstances.delete(key);
    });
    open = created;
  }
  const entry = open;
  entry.leases += 1;
  let pglite: PGlite;
  try {
    pglite = await entry.instance;
  } catch (error) {
    entry.leases -= 1;
    throw error;
  }
  let released = false;
  return {
    pglite,
    async release() {
      if (released) return;
      released = true;
      entry.leases -= 1;
      if (entry.leases > 0) return;
      openInstances.delete(key);
      const closing = pglite.closed ? Promise.resolve() : pglite.close();
      const settled = closing.catch(() => {});
      closingInstances.set(key, settled);
      try {
        await closing;
      } finally {
        if (closingInstances.get(key) === settled) closingInstances.delete(key);
      }
    },
  };
}

/** Whether this process holds an open PGlite instance for `directory` (test clean-up checks). */
export function isPgliteOpen(directory: string): boolean {
  return openInstances.has(path.resolve(directory));
}
