import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { OutboundPolicy } from '@avp/shared';

/** A vendor's answer: status and body text (bounded). */
export interface VendorResponse {
  status: number;
  body: string;
}

const maxResponseBytes = 256 * 1024;

/**
 * POSTs to a vendor API under the outbound policy and reads the answer. The vendor base URL
 * is the customer's (`api_base_url`), so it goes through the same send-time check as a
 * webhook (`postOutbound`): the policy's `lookup` refuses internal addresses at connect time
 * and redirects are not followed. Unlike `postOutbound` the body is read, since the vendor's
 * message id is in it. Rejects on a refusal, a network error or the timeout; no retries here
 * (an unknown outcome must not be sent twice).
 */
export async function postToVendor(
  policy: OutboundPolicy,
  rawUrl: string,
  options: { body: string; headers: Record<string, string>; timeoutMs: number },
): Promise<VendorResponse> {
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
        agent: false,
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= maxResponseBytes) chunks.push(chunk);
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

/** The JSON object in a vendor's answer, or `{}`. */
export function vendorJson(body: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
