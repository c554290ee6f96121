import type { Logger } from '@avp/shared';
import { z } from 'zod';
import type { MessagingOutcome } from './send-email.ts';

/**
 * The SMS provider of the send_message tool: a Twilio-compatible HTTP API
 * (`POST {apiUrl}/2010-04-01/Accounts/{accountSid}/Messages.json`, form-encoded `To`,
 * `From`, `Body`, basic auth `accountSid:authToken`).
 */
export interface SmsSettings {
  /** `SMS_API_URL` (default https://api.twilio.com). */
  apiUrl: string;
  accountSid: string;
  authToken: string;
  /** The sending number (E.164) or sender id. */
  from: string;
  /** Longest wait for the provider's answer (default 10 s). */
  timeoutMs?: number;
}

export const maxSmsRecipients = 10;
/** Twilio's limit for a message body. */
export const maxSmsLength = 1600;

/** A phone number in E.164 form; spaces, dots, dashes and brackets are dropped first. */
export const e164Schema = z
  .string()
  .transform((value) => value.replace(/[\s().-]/g, ''))
  .pipe(z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be a phone number in E.164 form, like +15551234567'));

/**
 * The reference's shape: `{destinations: [{type: "tel", target, target_name?}], text}`. Its
 * optional `source` is not taken: the platform sends from the configured number, and the
 * model does not choose which number that is.
 */
export const sendMessageArgumentsSchema = z.object({
  destinations: z
    .array(z.object({ type: z.literal('tel').default('tel'), target: e164Schema, target_name: z.string().max(100).optional() }))
    .min(1)
    .max(maxSmsRecipients),
  text: z.string().trim().min(1).max(maxSmsLength),
});

/** The JSON Schema the LLM is offered. */
export const sendMessageParameters = {
  type: 'object',
  properties: {
    destinations: {
      type: 'array',
      minItems: 1,
      maxItems: maxSmsRecipients,
      description: 'Who receives the text message.',
      items: {
        type: 'object',
        properties: {
          type: { type: 'string', enum: ['tel'] },
          target: { type: 'string', description: 'The mobile number in E.164 form, e.g. +15551234567.' },
          target_name: { type: 'string', description: "The recipient's name, if known." },
        },
        required: ['type', 'target'],
      },
    },
    text: { type: 'string', maxLength: maxSmsLength, description: 'The text of the message; keep it short.' },
  },
  required: ['destinations', 'text'],
};

type Delivery = { to: string; ok: true; sid: string; status: string } | { to: string; ok: false; reason: string };

/** Sends the send_message tool's texts through the provider, one request per destination. */
export class SmsSender {
  private readonly endpoint: string;

  constructor(
    private readonly settings: SmsSettings,
    private readonly logger: Logger,
  ) {
    this.endpoint = `${settings.apiUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(settings.accountSid)}/Messages.json`;
  }

  /** Checks the arguments (zod errors are thrown) and sends; provider failures are failed outcomes. */
  async send(args: Record<string, unknown>, aicallId: string): Promise<MessagingOutcome> {
    const { destinations, text } = sendMessageArgumentsSchema.parse(args);
    const numbers = [...new Set(destinations.map((entry) => entry.target))];
    const deliveries = await Promise.all(numbers.map((to) => this.deliver(to, text, aicallId)));
    const sent = deliveries.filter((entry): entry is Extract<Delivery, { ok: true }> => entry.ok);
    const failed = deliveries.filter((entry): entry is Extract<Delivery, { ok: false }> => !entry.ok);
    const data = deliveries.map((entry) => (entry.ok ? { to: entry.to, sid: entry.sid, status: entry.status } : { to: entry.to, error: entry.reason }));
    if (failed.length === 0) {
      return { result: 'success', message: 'Message sent successfully.', resource_type: 'message', resource_id: sent[0]!.sid, data };
    }
    const reasons = failed.map((entry) => (numbers.length > 1 ? `${entry.to}: ${entry.reason}` : entry.reason)).join(' ');
    // A partial send says which went out, so that the model does not send those again.
    const prefix = sent.length > 0 ? `Sent to ${sent.map((entry) => entry.to).join(', ')} only. ` : '';
    return { result: 'failed', message: `${prefix}${reasons}`, resource_type: 'message', resource_id: sent[0]?.sid ?? '', data };
  }

  private async deliver(to: string, body: string, aicallId: string): Promise<Delivery> {
    const { accountSid, authToken, from } = this.settings;
    const timeoutMs = this.settings.timeoutMs ?? 10_000;
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ To: to, From: from, Body: body }).toString(),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      this.logger.warn({ aicallId, reason: timedOut ? 'timeout' : error instanceof Error ? error.message : String(error) }, 'SMS provider request failed');
      return {
        to,
        ok: false,
        reason: timedOut
          ? 'The SMS provider did not answer in time; the message may or may not have been sent.'
          : 'The message was not sent: the SMS provider could not be reached.',
      };
    }
    let json: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: judged by the status alone.
    }
    if (response.ok) {
      if (typeof json.sid === 'string' && json.sid !== '') {
        this.logger.info({ aicallId, sid: json.sid, status: json.status }, 'SMS sent');
        return { to, ok: true, sid: json.sid, status: typeof json.status === 'string' ? json.status : '' };
      }
      this.logger.warn({ aicallId, httpStatus: response.status }, 'SMS provider answered without a message sid');
      return { to, ok: false, reason: 'The SMS provider accepted the request but gave no message id; the message may or may not have been sent.' };
    }
    const providerCode = typeof json.code === 'number' || typeof json.code === 'string' ? json.code : undefined;
    const providerMessage = typeof json.message === 'string' ? this.scrub(json.message) : '';
    this.logger.warn({ aicallId, httpStatus: response.status, providerCode, providerMessage }, 'SMS provider refused a message');
    return { to, ok: false, reason: this.describeStatus(response.status, providerMessage) };
  }

  private describeStatus(status: number, providerMessage: string): string {
    const detail = providerMessage ? `: ${providerMessage}` : '';
    if (status === 401 || status === 403) return "The message was not sent: the SMS provider refused the platform's credentials.";
    if (status === 404) return 'The message was not sent: the SMS provider does not know the platform account.';
    if (status === 429) return 'The message was not sent: the SMS provider is limiting requests; try again later.';
    if (status >= 500) return `The message was not sent: the SMS provider failed (HTTP ${status}).`;
    return `The message was not sent: the SMS provider refused it (HTTP ${status})${detail}.`.replace(/\.\.$/, '.');
  }

  /** A provider's text without the account's id or token, and short. */
  private scrub(message: string): string {
    let scrubbed = message;
    for (const secret of [this.settings.authToken, this.settings.accountSid]) {
      if (secret) scrubbed = scrubbed.split(secret).join('[redacted]');
    }
    scrubbed = scrubbed.replace(/\s+/g, ' ').trim();
    return scrubbed.length > 200 ? `${scrubbed.slice(0, 199)}…` : scrubbed;
  }
}
