import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { OutboundPolicy } from './outbound-policy.ts';

export interface OutboundPostOptions {
  body: string;
  headers: Record<string, string>;
  /** Longest wait for the whole exchange (connect, send, response headers; and the body when read). */
  timeoutMs: number;
  /** Read the response body instead of discarding it, keeping what arrives within `maxBodyBytes` (default 256 KiB; later chunks are dropped). */
  readBody?: boolean;
  maxBodyBytes?: number;
}

/**
 * POSTs to a customer-given URL under the outbound policy and answers the response status
 * (the body is discarded unless `readBody`: a vendor API's answer carries its message id).
 * The URL is checked again here, not trusted from save time: a literal IP is checked before connecting and a host name is resolved by the policy's
 * `lookup`, which refuses internal answers, so the connection goes to an address checked a
 * moment before (DNS rebinding gets nowhere). Redirects are not followed: a 3xx is an
 * answer like any other, so a public URL cannot bounce the request inward. Fails with the
 * refusal, a network error or a timeout.
 */
export async function postOutbound(policy: OutboundPolicy, rawUrl: string, options: OutboundPostOptions): Promise<{ status: number; body: string }> {
  const url = policy.parseUrl(rawUrl);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = Buffer.from(options.body, 'utf8');
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: { ...options.headers, 'content-length': String(body.length) },
        lookup: policy.lookup,
        // No pooled sockets: every request resolves and checks its host afresh.
        agent: false,
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (response) => {
        if (!options.readBody) {
          resolve({ status: response.statusCode ?? 0, body: '' });
          response.resume();
          response.on('error', () => undefined);
          response.destroy();
          return;
        }
        const limit = options.maxBodyBytes ?? 256 * 1024;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= limit) chunks.push(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', (error: Error) => {
      reject(error.name === 'AbortError' ? new Error(`no answer within ${options.timeoutMs} ms`) : error);
    });
    request.end(body);
  });
}
