import type { Logger } from '@avp/shared';
import nodemailer, { type SMTPSentMessageInfo, type Transporter } from 'nodemailer';
import { z } from 'zod';

/** SMTP settings of the send_email tool (`SMTP_URL`, `SMTP_FROM`, `SMTP_TIMEOUT_MS`). */
export interface EmailSettings {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://user:pass@host:465` (TLS). */
  url: string;
  /** The sender: `ai@example.com` or `Example AI <ai@example.com>`. */
  from: string;
  /** Longest wait for the connection, the greeting and each reply (default 10 s). */
  timeoutMs?: number;
}

export const maxEmailRecipients = 10;
export const maxEmailSubjectLength = 200;
export const maxEmailContentLength = 100_000;

/** The reference's shape: `{destinations: [{type: "email", target, target_name?}], subject, content}`. */
export const sendEmailArgumentsSchema = z.object({
  destinations: z
    .array(
      z.object({
        type: z.literal('email').default('email'),
        target: z.email().max(254),
        target_name: z.string().trim().max(100).optional(),
      }),
    )
    .min(1)
    .max(maxEmailRecipients),
  subject: z
    .string()
    .trim()
    .min(1)
    .max(maxEmailSubjectLength)
    .refine((subject) => !/[\r\n]/.test(subject), 'must be one line'),
  content: z.string().trim().min(1).max(maxEmailContentLength),
});

/** The JSON Schema the LLM is offered (kept beside the zod schema that checks it). */
export const sendEmailParameters = {
  type: 'object',
  properties: {
    destinations: {
      type: 'array',
      minItems: 1,
      maxItems: maxEmailRecipients,
      description: 'Who receives the e-mail.',
      items: {
        type: 'object',
        properties: {
          type: { type: 'string', enum: ['email'] },
          target: { type: 'string', format: 'email', description: 'The e-mail address, e.g. jane@example.com.' },
          target_name: { type: 'string', description: "The recipient's name, if known." },
        },
        required: ['type', 'target'],
      },
    },
    subject: { type: 'string', maxLength: maxEmailSubjectLength, description: 'A short, one-line subject.' },
    content: {
      type: 'string',
      maxLength: maxEmailContentLength,
      description: 'The body of the e-mail: plain text, or HTML.',
    },
  },
  required: ['destinations', 'subject', 'content'],
};

/** What the tool answers (the executor adds the tool call id and run_llm). */
export interface MessagingOutcome {
  result: 'success' | 'failed';
  message: string;
  resource_type: string;
  resource_id: string;
  data?: unknown;
}

const looksLikeHtml = (content: string) => /<\/?[a-z][a-z0-9]*(?:\s[^>]*)?\/?>/i.test(content);

/** A readable text version of HTML content, for mail clients that show no HTML. */
function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** A recipient as nodemailer reports it: an address, or an object with one. */
const addressOf = (entry: unknown): string => (typeof entry === 'string' ? entry : String((entry as { address?: unknown } | null)?.address ?? ''));

/** What an SMTP failure tells the LLM: what happened, never hosts or credentials. */
function describeSmtpError(error: unknown): string {
  const { code, responseCode } = (error ?? {}) as { code?: string; responseCode?: number };
  const status = responseCode ? ` (SMTP ${responseCode})` : '';
  switch (code) {
    case 'ECONNECTION':
    case 'ESOCKET':
    case 'EDNS':
    case 'ETLS':
      return 'The e-mail was not sent: the mail server could not be reached.';
    case 'ETIMEDOUT':
      return 'The e-mail was not sent: the mail server did not answer in time.';
    case 'EAUTH':
    case 'ENOAUTH':
      return "The e-mail was not sent: the mail server refused the platform's credentials.";
    case 'EENVELOPE':
      return `The e-mail was not sent: the mail server refused the recipients${status}.`;
    case 'EMESSAGE':
      return `The e-mail was not sent: the mail server refused the message${status}.`;
    default:
      return `The e-mail was not sent: the mail server failed${status}.`;
  }
}

/** Sends the send_email tool's e-mails through one SMTP server (a connection per e-mail). */
export class EmailSender {
  private readonly transport: Transporter<SMTPSentMessageInfo>;

  constructor(
    private readonly settings: EmailSettings,
    private readonly logger: Logger,
  ) {
    const timeoutMs = settings.timeoutMs ?? 10_000;
    this.transport = nodemailer.createTransport({
      url: settings.url,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      dnsTimeout: timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  /** Checks the arguments (zod errors are thrown) and sends; SMTP failures are failed outcomes. */
  async send(args: Record<string, unknown>, aicallId: string): Promise<MessagingOutcome> {
    const { destinations, subject, content } = sendEmailArgumentsSchema.parse(args);
    const seen = new Set<string>();
    const to = destinations.filter((entry) => !seen.has(entry.target.toLowerCase()) && seen.add(entry.target.toLowerCase()));
    const html = looksLikeHtml(content);
    try {
      const info = await this.transport.sendMail({
        from: this.settings.from,
        to: to.map((entry) => (entry.target_name ? { name: entry.target_name, address: entry.target } : entry.target)),
        subject,
        ...(html ? { html: content, text: htmlToText(content) } : { text: content }),
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
      const rejected = info.rejected.map(addressOf);
      this.logger.info({ aicallId, messageId: info.messageId, recipients: to.length, rejected: rejected.length }, 'e-mail sent');
      return {
        result: 'success',
        message: rejected.length > 0 ? `Email sent successfully, but the mail server refused ${rejected.join(', ')}.` : 'Email sent successfully.',
        resource_type: 'email',
        resource_id: info.messageId,
        data: { accepted: info.accepted.map(addressOf), rejected },
      };
    } catch (error) {
      // The error's own text names the server and its reply, never the credentials.
      const { code, responseCode, command, message } = (error ?? {}) as { code?: string; responseCode?: number; command?: string; message?: string };
      this.logger.warn({ aicallId, code, responseCode, command, reason: message }, 'e-mail not sent');
      return { result: 'failed', message: describeSmtpError(error), resource_type: 'email', resource_id: '' };
    }
  }

  close(): void {
    this.transport.close();
  }
}
