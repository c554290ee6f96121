import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3RecordingStorage } from './s3-recording-storage.ts';

/**
 * Where recording files live: a key (`<customer id>/<recording id>.wav`) per file. Two
 * implementations: a local directory and an S3-compatible bucket (`RECORDING_STORAGE_URL`).
 */
export interface RecordingStorage {
  /** A readable name for logs and errors (`file:///...`, `s3://bucket`). */
  readonly description: string;
  put(key: string, data: Buffer): Promise<void>;
  /** The whole file; undefined when there is none. */
  get(key: string): Promise<Buffer | undefined>;
  /** `length` bytes from `start` (fewer at the end of the file); undefined when there is no file. */
  getRange(key: string, start: number, length: number): Promise<Buffer | undefined>;
  /** Removes the file; a missing one is fine. */
  delete(key: string): Promise<void>;
}

/** The key of a recording's file. */
export function recordingKey(customerId: string, recordingId: string): string {
  return `${customerId}/${recordingId}.wav`;
}

/** Files under one directory; written to a temporary name first, so a reader never sees half a file. */
export class LocalRecordingStorage implements RecordingStorage {
  readonly description: string;
  private readonly root: string;

  constructor(directory: string) {
    this.root = resolve(directory);
    this.description = `file://${this.root}`;
  }

  async put(key: string, data: Buffer): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.partial`;
    await writeFile(partial, data);
    await rename(partial, path);
  }

  async get(key: string): Promise<Buffer | undefined> {
    return readFile(this.path(key)).catch(missing);
  }

  async getRange(key: string, start: number, length: number): Promise<Buffer | undefined> {
    const handle = await open(this.path(key), 'r').catch(missing);
    if (!handle) return undefined;
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  private path(key: string): string {
    const path = resolve(this.root, key);
    if (!path.startsWith(`${this.root}/`)) throw new Error(`a recording key outside the storage directory: ${key}`);
    return path;
  }
}

function missing(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
}

/** The directory a flow-manager without RECORDING_STORAGE_URL keeps recordings in. */
export function defaultRecordingDirectory(dataDirectory?: string): string {
  return dataDirectory ? join(dataDirectory, 'recordings') : join(tmpdir(), 'avp-flow-manager-recordings');
}

/**
 * The storage a `RECORDING_STORAGE_URL` names: `file:///var/lib/avp/recordings` or
 * `s3://bucket[/prefix]?endpoint=http://127.0.0.1:9000&region=us-east-1&force_path_style=true`
 * (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or the SDK's usual chain).
 */
export function recordingStorageFromUrl(url: string, environment: NodeJS.ProcessEnv = process.env): RecordingStorage {
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') return new LocalRecordingStorage(fileURLToPath(parsed));
  if (parsed.protocol === 's3:') {
    const accessKeyId = environment.AWS_ACCESS_KEY_ID;
    const secretAccessKey = environment.AWS_SECRET_ACCESS_KEY;
    return new S3RecordingStorage({
      bucket: parsed.hostname,
      prefix: decodeURIComponent(parsed.pathname.replace(/^\/+/, '')),
      endpoint: parsed.searchParams.get('endpoint') ?? undefined,
      region: parsed.searchParams.get('region') ?? environment.AWS_REGION ?? 'us-east-1',
      forcePathStyle: parsed.searchParams.get('force_path_style') === 'true',
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    });
  }
  throw new Error(`RECORDING_STORAGE_URL must be file:// or s3:// (got ${parsed.protocol})`);
}
