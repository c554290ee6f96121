import { postOutbound, type OutboundPolicy } from '@avp/shared';

/** A vendor's answer: status and body text (bounded). */
export interface VendorResponse {
  status: number;
  body: string;
}

/**
 * POSTs to a vendor API under the outbound policy and reads the answer. The vendor base URL
 * is the customer's (`api_base_url`), so it goes through the same send-time check as a
 * webhook (`postOutbound`): the policy's `lookup` refuses internal addresses at connect time
 * and redirects are not followed; the body is read (the vendor's message id is in it, first
 * 256 KiB). Rejects on a refusal, a network error or the timeout; no retries here (an unknown
 * outcome must not be sent twice).
 */
export function postToVendor(
  policy: OutboundPolicy,
  rawUrl: string,
  options: { body: string; headers: Record<string, string>; timeoutMs: number },
): Promise<VendorResponse> {
  return postOutbound(policy, rawUrl, { ...options, readBody: true });
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
