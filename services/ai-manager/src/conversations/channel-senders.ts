import { randomUUID } from 'node:crypto';
import type { OutboundPolicy } from '@avp/shared';
import { batches, maxLineMessagesPerRequest, maxLineTextLength, maxSmsBodyLength, splitText } from './text-split.ts';
import { postToVendor, vendorJson, type VendorResponse } from './vendor-http.ts';

/** How one send ended: the vendor's message id, or why it failed (for `delivery_error`). */
export type SendOutcome = { ok: true; providerMessageId: string | null } | { ok: false; error: string };

export interface SendSettings {
  policy: OutboundPolicy;
  timeoutMs: number;
}

/** A request that got no answer: its outcome is unknown, and it is not sent again. */
function unreachable(vendor: string, error: unknown, which = ''): { ok: false; error: string } {
  const reason = error instanceof Error ? error.message : String(error);
  return { ok: false, error: `${vendor} request failed${which} (${reason}); the message may or may not have been sent` };
}

function refused(vendor: string, response: VendorResponse, secrets: readonly string[], which = ''): { ok: false; error: string } {
  const json = vendorJson(response.body);
  let message = typeof json.message === 'string' ? json.message : '';
  for (const secret of secrets) if (secret) message = message.split(secret).join('[redacted]');
  message = message.replace(/\s+/g, ' ').trim().slice(0, 200);
  return { ok: false, error: `${vendor} answered HTTP ${response.status}${which}${message ? `: ${message}` : ''}` };
}

/**
 * Sends an SMS through a Twilio-compatible API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`
 * with `To`, `From`, `Body` and basic auth, one request per 1600 characters (Twilio's limit).
 * The first part's `sid` is the message's provider id.
 */
export async function sendSms(
  settings: SendSettings,
  channel: { apiBaseUrl: string; accountSid: string; authToken: string },
  to: string,
  from: string,
  text: string,
): Promise<SendOutcome> {
  const endpoint = `${channel.apiBaseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(channel.accountSid)}/Messages.json`;
  const parts = splitText(text, maxSmsBodyLength);
  let first: string | null = null;
  for (const [index, part] of parts.entries()) {
    const which = parts.length > 1 ? ` (part ${index + 1} of ${parts.length})` : '';
    let response: VendorResponse;
    try {
      response = await postToVendor(settings.policy, endpoint, {
        body: new URLSearchParams({ To: to, From: from, Body: part }).toString(),
        headers: {
          authorization: `Basic ${Buffer.from(`${channel.accountSid}:${channel.authToken}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        timeoutMs: settings.timeoutMs,
      });
    } catch (error) {
      return unreachable('SMS provider', error, which);
    }
    const json = vendorJson(response.body);
    if (response.status < 200 || response.status >= 300) return refused('SMS provider', response, [channel.authToken], which);
    first ??= typeof json.sid === 'string' && json.sid !== '' ? json.sid : null;
  }
  return { ok: true, providerMessageId: first };
}

/**
 * Sends text through LINE: the first five text messages (5000 UTF-16 units each) as a reply
 * when a fresh reply token is given (free, and shown as an answer), falling back once to a
 * push when LINE refuses the token (400); the rest, or everything without a token, by push to
 * `to` with an `X-Line-Retry-Key`.
 */
export async function sendLine(
  settings: SendSettings,
  channel: { apiBaseUrl: string; channelAccessToken: string },
  to: string,
  text: string,
  replyToken: string | undefined,
): Promise<SendOutcome> {
  const base = channel.apiBaseUrl.replace(/\/+$/, '');
  const groups = batches(
    splitText(text, maxLineTextLength).map((piece) => ({ type: 'text', text: piece })),
    maxLineMessagesPerRequest,
  );
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    postToVendor(settings.policy, `${base}${path}`, {
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${channel.channelAccessToken}`, 'content-type': 'application/json', ...headers },
      timeoutMs: settings.timeoutMs,
    });
  const push = (messages: unknown[]) => post('/v2/bot/message/push', { to, messages }, { 'x-line-retry-key': randomUUID() });
  let first: string | null = null;
  for (const [index, messages] of groups.entries()) {
    let response: VendorResponse;
    try {
      response = index === 0 && replyToken ? await post('/v2/bot/message/reply', { replyToken, messages }) : await push(messages);
      // A refused token sent nothing: the one safe retry is the same messages by push.
      if (index === 0 && replyToken && tokenRefused(response)) response = await push(messages);
    } catch (error) {
      return unreachable('LINE', error);
    }
    if (response.status < 200 || response.status >= 300) return refused('LINE', response, [channel.channelAccessToken]);
    const sent = vendorJson(response.body).sentMessages;
    const id = Array.isArray(sent) ? (sent[0] as { id?: unknown } | undefined)?.id : undefined;
    first ??= typeof id === 'string' ? id : null;
  }
  return { ok: true, providerMessageId: first };
}

/** LINE's answer to an expired or already used reply token: 400 "Invalid reply token". */
function tokenRefused(response: VendorResponse): boolean {
  const message = vendorJson(response.body).message;
  return response.status === 400 && typeof message === 'string' && /reply ?token/i.test(message);
}
