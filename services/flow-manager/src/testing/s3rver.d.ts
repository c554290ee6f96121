/** The part of s3rver (a fake S3 server in Node, no types of its own) the storage test uses. */
declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    /** Resolves with the address the server listens on. */
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}
