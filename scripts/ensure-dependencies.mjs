#!/usr/bin/env node
// Installs the workspace's dependencies when they are missing or older than the lockfile,
// so `npm start` and `npm test` work on a fresh clone with nothing but Node.js 20 and npm.
// Uses pnpm 12 through npx when no pnpm 12 is on PATH. package.json carries no
// packageManager pin on purpose: pnpm 12 then tries to record the pin in the lockfile and a
// frozen install fails when the registry lacks the matching @pnpm/exe build.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lockfile = join(root, 'pnpm-lock.yaml');
const marker = join(root, 'node_modules', '.modules.yaml');

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`Node.js 20 or newer is required (this is ${process.version}).`);
  process.exit(1);
}

if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lockfile).mtimeMs) process.exit(0);

const pinned = '12.21.0';
const command = localPnpmMatches(pinned) ? ['pnpm'] : ['npx', '--yes', `pnpm@${pinned}`];
console.error(`Installing dependencies with ${command.join(' ')} install --frozen-lockfile ...`);
const result = spawnSync(command[0], [...command.slice(1), 'install', '--frozen-lockfile'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, COREPACK_ENABLE_STRICT: '0' },
});
process.exit(result.status ?? 1);

function localPnpmMatches(version) {
  try {
    const found = execFileSync('pnpm', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return found.trim().split('.')[0] === version.split('.')[0];
  } catch {
    return false;
  }
}
