import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '@avp/shared/testing';

const run = promisify(execFile);

/** The repository's Asterisk configuration templates (the same files the container uses). */
export const asteriskConfigDirectory = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../infra/asterisk/conf');

/** Where `scripts/asterisk/build.sh` keeps its builds, unless ASTERISK_CACHE_DIR says otherwise. */
const defaultCacheDirectory = '/var/cache/avp-asterisk';

/** A finished Asterisk build: its install prefix and binary. */
export interface AsteriskInstallation {
  prefix: string;
  binary: string;
}

/** Whether a real Asterisk can run here, and where; or why not (for a skip message). */
export type AsteriskAvailability = { available: true; installation: AsteriskInstallation } | { available: false; reason: string };

/**
 * Finds the Asterisk that `scripts/asterisk/build.sh` built: ASTERISK_PREFIX, else the build the
 * script recorded in `<cache>/current`. Under CI=true a missing build throws: CI must never
 * pass by skipping the real-Asterisk tests.
 */
export function findAsterisk(): AsteriskAvailability {
  const cache = process.env.ASTERISK_CACHE_DIR || defaultCacheDirectory;
  let prefix = process.env.ASTERISK_PREFIX;
  // Synchronous on purpose: test files decide at collection time whether to skip.
  if (!prefix && existsSync(join(cache, 'current'))) prefix = readFileSync(join(cache, 'current'), 'utf8').trim();
  const binary = prefix ? join(prefix, 'sbin', 'asterisk') : '';
  if (prefix && existsSync(binary) && existsSync(join(prefix, 'BUILD_COMPLETE'))) return { available: true, installation: { prefix, binary } };
  const reason = `no Asterisk build found (${prefix ? `${prefix} is incomplete` : `set ASTERISK_PREFIX or run scripts/asterisk/build.sh`})`;
  if (process.env.CI === 'true') throw new Error(`${reason}; CI needs it`);
  return { available: false, reason };
}

export interface RealAsteriskOptions {
  installation: AsteriskInstallation;
  /** The Stasis app calls of [avp-inbound] enter (default `avp`). */
  ariApp?: string;
  ariUser?: string;
  ariPassword?: string;
  /** Dialplan added as `extensions-local.conf` (test callers and callees). */
  extraDialplan?: string;
  /** Placeholders for `extraDialplan` and the templates beyond the standard ones. */
  values?: Record<string, string>;
}

/** One running Asterisk with its own ports and directories. */
export interface RealAsterisk {
  /** `http://127.0.0.1:<port>`: ARI lives under `/ari`, WebSocket media under `/media`. */
  readonly url: string;
  readonly ariPort: number;
  readonly ariUser: string;
  readonly ariPassword: string;
  readonly ariApp: string;
  readonly stateDirectory: string;
  /** Runs a CLI command (`asterisk -rx`) and answers its output. */
  cli(command: string): Promise<string>;
  /** Kills the process (SIGKILL, as a crash) and starts it again on the same ports; resolves once ARI answers. */
  restart(options?: { hard?: boolean }): Promise<void>;
  /** The tail of Asterisk's log (for failure messages). */
  logTail(lines?: number): Promise<string>;
  /** Stops Asterisk and removes its directories. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts a real Asterisk for one test file: the repository's configuration (infra/asterisk/conf)
 * rendered into a private directory under /tmp with a free ARI port and an RTP port range of its
 * own, run in the foreground, ready when ARI answers.
 */
export async function startRealAsterisk(options: RealAsteriskOptions): Promise<RealAsterisk> {
  const { installation } = options;
  const stateDirectory = await mkdtemp('/tmp/avp-asterisk-');
  if (stateDirectory.includes('.')) throw new Error(`the Asterisk state directory must not contain a dot: ${stateDirectory}`);
  const etc = join(stateDirectory, 'etc');
  await mkdir(etc);
  for (const sub of ['lib', 'spool', 'run', 'log', 'agi-bin', 'cache']) await mkdir(join(stateDirectory, sub));
  // Asterisk never creates its recording directory (astspooldir/recording): without it every
  // ARI record fails with 500 and GET /recordings/stored with 500 "Allocation failed".
  await mkdir(join(stateDirectory, 'spool', 'recording'));
  const ariPort = await freePort();
  const rtpStart = 20_000 + 200 * Math.floor(Math.random() * 190);
  const values: Record<string, string> = {
    PREFIX: installation.prefix,
    ETC_DIR: etc,
    STATE_DIR: stateDirectory,
    ARI_BIND_ADDRESS: '127.0.0.1',
    ARI_PORT: String(ariPort),
    ARI_USER: options.ariUser ?? 'asterisk',
    ARI_PASSWORD: options.ariPassword ?? 'asterisk',
    ARI_APP: options.ariApp ?? 'avp',
    RTP_START: String(rtpStart),
    RTP_END: String(rtpStart + 198),
    ...options.values,
  };
  for (const file of await readdir(asteriskConfigDirectory)) {
    await writeFile(join(etc, file), renderTemplate(await readFile(join(asteriskConfigDirectory, file), 'utf8'), values));
  }
  if (options.extraDialplan) await writeFile(join(etc, 'extensions-local.conf'), renderTemplate(options.extraDialplan, values));
  const conf = join(etc, 'asterisk.conf');
  const url = `http://127.0.0.1:${ariPort}`;
  const authorization = `Basic ${Buffer.from(`${values.ARI_USER}:${values.ARI_PASSWORD}`).toString('base64')}`;

  let child: ChildProcess | undefined;
  const launch = async () => {
    const started = spawn(installation.binary, ['-f', '-C', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    running.add(started);
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const exited = new Promise<number | null>((resolveExit) => started.once('exit', (code) => resolveExit(code)));
    void exited.then(() => running.delete(started));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const exit = await Promise.race([exited, new Promise<undefined>((resolveWait) => setTimeout(() => resolveWait(undefined), 100))]);
      if (exit !== undefined) throw new Error(`Asterisk exited at start (code ${exit}): ${stderr}\n${await tail(stateDirectory, 30)}`);
      if (await ariAnswers(url, authorization)) return;
      if (Date.now() > deadline) throw new Error(`Asterisk's ARI did not answer within 30 s at ${url}\n${await tail(stateDirectory, 30)}`);
    }
  };
  const kill = async (signal: NodeJS.Signals) => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const gone = new Promise<void>((resolveGone) => current.once('exit', () => resolveGone()));
    current.kill(signal);
    const timer = setTimeout(() => current.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };

  try {
    await launch();
  } catch (error) {
    await kill('SIGKILL');
    if (!process.env.AVP_KEEP_ASTERISK) await rm(stateDirectory, { recursive: true, force: true });
    throw error;
  }

  let stopped = false;
  return {
    url,
    ariPort,
    ariUser: values.ARI_USER!,
    ariPassword: values.ARI_PASSWORD!,
    ariApp: values.ARI_APP!,
    stateDirectory,
    async cli(command) {
      const { stdout } = await run(installation.binary, ['-C', conf, '-rx', command], { timeout: 10_000 });
      return stdout;
    },
    async restart({ hard = true } = {}) {
      if (hard) await kill('SIGKILL');
      else {
        await run(installation.binary, ['-C', conf, '-rx', 'core stop now'], { timeout: 10_000 }).catch(() => undefined);
        await kill('SIGTERM');
      }
      await launch();
    },
    logTail: (lines = 40) => tail(stateDirectory, lines),
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill('SIGTERM');
      if (!process.env.AVP_KEEP_ASTERISK) await rm(stateDirectory, { recursive: true, force: true });
    },
  };
}

/** Fills `@@NAME@@` placeholders; an unknown one is an error (a config file must not carry it to Asterisk). */
export function renderTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/@@([A-Z0-9_]+)@@/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for the Asterisk configuration placeholder @@${name}@@`);
    return value;
  });
}

async function ariAnswers(url: string, authorization: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/ari/asterisk/info`, { headers: { authorization }, signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

async function tail(stateDirectory: string, lines: number): Promise<string> {
  try {
    const log = await readFile(join(stateDirectory, 'log', 'messages.log'), 'utf8');
    return log.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no Asterisk log)';
  }
}
