import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRecordingStorage, recordingStorageFromUrl, type RecordingStorage } from './recording-storage.ts';
import { S3RecordingStorage } from './s3-recording-storage.ts';

/** The same behaviour from every storage: a file put is read whole or in part, and deleted. */
function storageContract(name: string, open: () => RecordingStorage) {
  it(`${name}: stores, reads whole and in ranges, and deletes a file`, async () => {
    const storage = open();
    const file = Buffer.from(Array.from({ length: 1000 }, (_, index) => index % 251));
    expect(await storage.get('customer/missing.wav')).toBeUndefined();
    expect(await storage.getRange('customer/missing.wav', 0, 44)).toBeUndefined();
    await storage.put('customer/recording.wav', file);
    expect(await storage.get('customer/recording.wav')).toEqual(file);
    expect(await storage.getRange('customer/recording.wav', 10, 20)).toEqual(file.subarray(10, 30));
    // A range running past the end answers what there is.
    expect(await storage.getRange('customer/recording.wav', 990, 50)).toEqual(file.subarray(990));
    await storage.put('customer/recording.wav', file.subarray(0, 10));
    expect(await storage.get('customer/recording.wav')).toEqual(file.subarray(0, 10));
    await storage.delete('customer/recording.wav');
    expect(await storage.get('customer/recording.wav')).toBeUndefined();
    await storage.delete('customer/recording.wav');
  });
}

describe('recording storage', () => {
  let directory: string;
  let server: S3rver;
  let endpoint: string;
  const s3Storages: S3RecordingStorage[] = [];

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'avp-recording-storage-'));
    server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(directory, 's3'), configureBuckets: [{ name: 'recordings' }] });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    for (const storage of s3Storages) storage.close();
    await server?.close();
    await rm(directory, { recursive: true, force: true });
  });

  storageContract('local directory', () => new LocalRecordingStorage(join(directory, 'local')));
  storageContract('S3 (s3rver), from RECORDING_STORAGE_URL', () => {
    const storage = recordingStorageFromUrl(`s3://recordings/calls?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&force_path_style=true`, {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    });
    expect(storage).toBeInstanceOf(S3RecordingStorage);
    expect(storage.description).toBe('s3://recordings/calls');
    s3Storages.push(storage as S3RecordingStorage);
    return storage;
  });

  it('keeps S3 objects under the prefix, as audio/wav', async () => {
    const storage = new S3RecordingStorage({ bucket: 'recordings', prefix: 'calls/', endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    s3Storages.push(storage);
    await storage.put('c/r.wav', Buffer.from('RIFF'));
    const response = await fetch(`${endpoint}/recordings/calls/c/r.wav`);
    expect(response.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await response.arrayBuffer()).toString()).toBe('RIFF');
  });

  it('reads file:// URLs as a local directory and refuses other schemes and keys outside it', async () => {
    const storage = recordingStorageFromUrl(`file://${join(directory, 'from-url')}`);
    expect(storage).toBeInstanceOf(LocalRecordingStorage);
    expect(storage.description).toBe(`file://${join(directory, 'from-url')}`);
    await expect(storage.put('../escape.wav', Buffer.from('x'))).rejects.toThrow(/outside/);
    expect(() => recordingStorageFromUrl('http://example.com/recordings')).toThrow(/file:\/\/ or s3:\/\//);
  });
});
