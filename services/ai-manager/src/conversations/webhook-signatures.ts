import { validateSignature } from '@line/bot-sdk';
import twilio from 'twilio';

/**
 * Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the auth token, over the URL
 * Twilio called followed by each POST parameter's name and value sorted by name. The
 * vendor's own check (`twilio.validateRequest`) is used: it also tries the URL with and
 * without an explicit default port (:443 / :80), as Twilio may sign either form, and
 * compares in constant time.
 */
export function verifyTwilioSignature(authToken: string, signature: string | undefined, url: string, params: Record<string, string>): boolean {
  if (!signature || !authToken) return false;
  try {
    return twilio.validateRequest(authToken, signature, url, params);
  } catch {
    return false;
  }
}

/**
 * LINE's `x-line-signature`: base64 HMAC-SHA256 of the raw request body keyed with the
 * channel secret, checked before the body is parsed (LINE's SDK compares in constant time).
 */
export function verifyLineSignature(channelSecret: string, signature: string | undefined, rawBody: string | Buffer): boolean {
  if (!signature || !channelSecret) return false;
  try {
    return validateSignature(rawBody, channelSecret, signature);
  } catch {
    return false;
  }
}
