import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

export type ServiceName = 'ai-manager' | 'flow-manager' | 'pipeline-manager';

/** One service process as the cluster runs it; `restart` gives it a new child with the same settings. */
export interface RunningService {
  name: ServiceName;
  port: number;
  url: string;
  instanceId: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<void>;
}

/**
 * Runs a service as its own process (`node --import tsx services/<name>/src/main.ts`, as
 * deployed), its output appended to `logFile`, and can signal, stop and start it again with the
 * same environment, port and instance id (a restart after a crash).
 */
export class ServiceProcess {
  readonly service: RunningService;
  private log: WriteStream;
  /** Characters of the log written before the current child started. */
  private logStart = 0;

  constructor(
    name: ServiceName,
    private readonly environment: NodeJS.ProcessEnv,
    port: number,
    instanceId: string,
    logFile: string,
    /** Settings that name the process's own port (flow-manager's MEDIA_BASE_URL), set again on a move. */
    private readonly environmentOfPort: (port: number) => Record<string, string> = () => ({}),
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.service = { name, port, url: `http://127.0.0.1:${port}`, instanceId, logFile, child: undefined as unknown as ChildProcess, exited: Promise.resolve() };
    this.spawn();
  }

  private spawn(): void {
    this.logStart = this.logText().length;
    const child = spawn(process.execPath, ['--import', 'tsx', `services/${this.service.name}/src/main.ts`], {
      cwd: repositoryRoot,
      env: { ...this.environment, ...this.environmentOfPort(this.service.port), PORT: String(this.service.port), INSTANCE_ID: this.service.instanceId },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.service.child = child;
    this.service.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.service.child.exitCode === null && this.service.child.signalCode === null;
  }

  /** Sends a signal (SIGKILL: a crash; SIGSTOP / SIGCONT: a stall). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.service.child.kill(signal);
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 8000): Promise<void> {
    if (this.running) this.service.child.kill('SIGTERM');
    const stopped = await Promise.race([this.service.exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), graceMs))]);
    if (!stopped) {
      this.service.child.kill('SIGKILL');
      await this.service.exited;
    }
  }

  /** Starts the process again after it stopped or was killed (same port, instance id and log). */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.service.name} is still running`);
    this.spawn();
  }

  /**
   * Whether the process exited because its port was taken: the port was free when the cluster
   * picked it, but another test's process or an outgoing connection can take it before the child
   * listens.
   */
  lostItsPort(): boolean {
    return !this.running && this.logText().slice(this.logStart).includes('EADDRINUSE');
  }

  /** Starts the stopped process again on another port (after `lostItsPort`). */
  async moveTo(port: number): Promise<void> {
    if (this.running) throw new Error(`${this.service.name} is still running`);
    this.log.write(`--- port ${this.service.port} was taken; starting again on port ${port} ---\n`);
    this.service.port = port;
    this.service.url = `http://127.0.0.1:${port}`;
    this.spawn();
  }

  /** Whether the log says the process started (logged once it serves the bus) since `from` bytes. */
  startedSince(from = 0): boolean {
    return this.logText().slice(from).includes('"msg":"platform started"');
  }

  logText(): string {
    try {
      return readFileSync(this.service.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}

export function logFileOf(directory: string, name: string): string {
  return path.join(directory, `${name}.log`);
}
