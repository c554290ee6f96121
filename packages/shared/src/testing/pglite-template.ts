import { cp, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';

/**
 * A fresh PGlite takes 3-7 s to create (it runs initdb); copying a closed, freshly
 * initialised data folder and opening that takes under one second. The first test process
 * to need it builds the template once per PGlite version in the OS temp folder; the others
 * wait for it and copy it.
 */

const lockStaleAfterMs = 120_000;
const waitForTemplateMs = 180_000;

async function pgliteVersion(): Promise<string> {
  // The package's exports hide package.json; it sits next to the resolved dist folder.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const manifest = JSON.parse(await readFile(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

async function exists(target: string): Promise<boolean> {
  return stat(target).then(
    () => true,
    () => false,
  );
}

async function buildTemplate(template: string): Promise<void> {
  const building = await mkdtemp(`${template}.building-`);
  try {
    const pglite = await PGlite.create(building);
    await pglite.close();
    // rename is atomic: the template is either absent or complete.
    await rename(building, template);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    if (!(await exists(template))) throw error;
  }
}

async function ensureTemplate(): Promise<string> {
  const template = path.join(os.tmpdir(), `avp-pglite-template-${await pgliteVersion()}`);
  const lock = `${template}.lock`;
  const deadline = Date.now() + waitForTemplateMs;
  while (!(await exists(template))) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for the PGlite template at ${template}`);
    try {
      await mkdir(lock);
    } catch {
      // Someone else builds it; take over only a lock left by a crashed process.
      const lockAge = await stat(lock).then((info) => Date.now() - info.mtimeMs, () => 0);
      if (lockAge > lockStaleAfterMs) await rm(lock, { recursive: true, force: true });
      await sleep(100);
      continue;
    }
    try {
      if (!(await exists(template))) await buildTemplate(template);
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
  return template;
}

/** Fills `target` (which must not exist yet) with a freshly initialised PGlite data folder. */
export async function copyPgliteTemplate(target: string): Promise<void> {
  const template = await ensureTemplate();
  await cp(template, target, { recursive: true, errorOnExist: true, force: false });
}
