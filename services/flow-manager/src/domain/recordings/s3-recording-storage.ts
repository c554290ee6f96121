import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { RecordingStorage } from './recording-storage.ts';

export interface S3RecordingStorageOptions {
  bucket: string;
  /** Prepended to every key (`recordings/`); empty for none. */
  prefix: string;
  /** An S3-compatible server (MinIO, s3rver); unset = AWS. */
  endpoint?: string;
  region: string;
  /** `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key` (MinIO, s3rver). */
  forcePathStyle: boolean;
  /** Unset: the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Recording files as objects of an S3-compatible bucket. */
export class S3RecordingStorage implements RecordingStorage {
  readonly description: string;
  private readonly client: S3Client;

  constructor(private readonly options: S3RecordingStorageOptions) {
    this.description = `s3://${options.bucket}/${options.prefix}`;
    this.client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: this.key(key), Body: data, ContentType: 'audio/wav' }));
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.read(key);
  }

  getRange(key: string, start: number, length: number): Promise<Buffer | undefined> {
    if (length <= 0) return Promise.resolve(Buffer.alloc(0));
    return this.read(key, `bytes=${start}-${start + length - 1}`);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.key(key) }));
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }

  private async read(key: string, range?: string): Promise<Buffer | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.key(key), ...(range ? { Range: range } : {}) }));
      if (!object.Body) return Buffer.alloc(0);
      return Buffer.from(await object.Body.transformToByteArray());
    } catch (error) {
      if (error instanceof NoSuchKey) return undefined;
      // A range past the end of the object.
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 416) return Buffer.alloc(0);
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return undefined;
      throw error;
    }
  }

  private key(key: string): string {
    return this.options.prefix ? `${this.options.prefix.replace(/\/$/, '')}/${key}` : key;
  }
}
