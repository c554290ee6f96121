import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server on 127.0.0.1 that keeps every e-mail it is given (send_email's other end). */
export interface FakeSmtp {
  /** `smtp://127.0.0.1:<port>` for SMTP_URL. */
  readonly url: string;
  readonly mails: { mail: ParsedMail; rcptTo: string[] }[];
  close(): Promise<void>;
}

export async function startFakeSmtp(): Promise<FakeSmtp> {
  const mails: FakeSmtp['mails'] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          mails.push({ mail, rcptTo: session.envelope.rcptTo.map((entry) => entry.address) });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A Twilio-shaped SMS API on 127.0.0.1 that answers every message with `sid` (send_message's other end). */
export interface FakeSmsApi {
  /** `http://127.0.0.1:<port>` for SMS_API_URL. */
  readonly url: string;
  readonly requests: { path: string; authorization: string; form: Record<string, string> }[];
  /** When set, every request is recorded and answered with this status and a Twilio-shaped error. */
  failWith?: number | undefined;
  close(): Promise<void>;
}

export async function startFakeSmsApi(sid: string): Promise<FakeSmsApi> {
  const requests: FakeSmsApi['requests'] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push({ path: request.url ?? '', authorization: request.headers.authorization ?? '', form: Object.fromEntries(new URLSearchParams(body)) });
      if (fake.failWith !== undefined) {
        response.writeHead(fake.failWith, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ code: 20500, message: 'fake provider failure', status: fake.failWith }));
        return;
      }
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ sid, status: 'queued' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeSmsApi = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failWith: undefined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return fake;
}

/** One request the fake LINE API received. */
export interface LineApiRequest {
  kind: 'reply' | 'push';
  path: string;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read the JSON body field by field
  body: any;
}

/**
 * LINE's Messaging API on 127.0.0.1: reply (`/v2/bot/message/reply`) and push
 * (`/v2/bot/message/push`), recording each request. `refuseReplyTokens` makes replies fail
 * as LINE does for an expired or used token; `failWith` makes every request answer that
 * status.
 */
export interface FakeLineApi {
  /** `http://127.0.0.1:<port>`, a channel's `api_base_url`. */
  readonly url: string;
  readonly requests: LineApiRequest[];
  refuseReplyTokens: boolean;
  failWith: number | undefined;
  close(): Promise<void>;
}

export async function startFakeLineApi(): Promise<FakeLineApi> {
  const requests: LineApiRequest[] = [];
  let counter = 0;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const path = request.url ?? '';
      const kind = path.endsWith('/v2/bot/message/reply') ? 'reply' : path.endsWith('/v2/bot/message/push') ? 'push' : undefined;
      const send = (status: number, json: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(json));
      };
      if (!kind) return send(404, { message: 'Not found' });
      let parsed: { messages?: unknown[] };
      try {
        parsed = JSON.parse(body) as { messages?: unknown[] };
      } catch {
        return send(400, { message: 'The request body has 1 error(s)' });
      }
      requests.push({ kind, path, headers: request.headers, body: parsed });
      if (fake.failWith !== undefined) return send(fake.failWith, { message: 'fake failure' });
      if (kind === 'reply' && fake.refuseReplyTokens) return send(400, { message: 'Invalid reply token' });
      send(200, { sentMessages: (parsed.messages ?? []).map(() => ({ id: `line-sent-${++counter}`, quoteToken: 'q' })) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeLineApi = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    refuseReplyTokens: false,
    failWith: undefined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return fake;
}

/**
 * The `X-Twilio-Signature` Twilio would send: base64 HMAC-SHA1 of the URL followed by every
 * parameter's name and value, sorted by name. Written from Twilio's documentation, apart
 * from the code under test.
 */
export function signTwilio(url: string, params: Record<string, string>, authToken: string): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, name) => text + name + params[name], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** The `x-line-signature` LINE would send: base64 HMAC-SHA256 of the raw body. */
export function signLine(rawBody: string, channelSecret: string): string {
  return createHmac('sha256', channelSecret).update(rawBody, 'utf8').digest('base64');
}
