import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startToolFixture, type ToolFixture } from '../testing/tool-fixture.ts';
import type { ToolExecutor } from './tool-executor.ts';
import type { SmsSettings } from './send-message.ts';

const accountSid = 'AC0123456789abcdef0123456789abcdef';
const authToken = 'tok-SECRET-9f8e7d6c5b4a';

interface RecordedRequest {
  method: string;
  path: string;
  authorization: string;
  contentType: string;
  form: Record<string, string>;
}

type Answer = (request: RecordedRequest, response: ServerResponse) => void;

/** A loopback Twilio-shaped SMS API that records every request and answers as the test says. */
async function startSmsFake(): Promise<{ url: string; requests: RecordedRequest[]; answer: Answer; setAnswer(answer: Answer): void; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  let sequence = 0;
  const created: Answer = (request, response) => {
    response.writeHead(201, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ sid: `SM${String(++sequence).padStart(32, '0')}`, status: 'queued', to: request.form.To, from: request.form.From, body: request.form.Body }));
  };
  let answer = created;
  const server: Server = createServer((incoming: IncomingMessage, response) => {
    let body = '';
    incoming.setEncoding('utf8');
    incoming.on('data', (chunk: string) => (body += chunk));
    incoming.on('end', () => {
      const request: RecordedRequest = {
        method: incoming.method ?? '',
        path: incoming.url ?? '',
        authorization: incoming.headers.authorization ?? '',
        contentType: incoming.headers['content-type'] ?? '',
        form: Object.fromEntries(new URLSearchParams(body)),
      };
      requests.push(request);
      answer(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: created,
    setAnswer: (next) => (answer = next),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const json = (status: number, body: unknown): Answer => (_request, response) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

describe('send_message through a Twilio-compatible SMS API', () => {
  let fixture: ToolFixture;
  let fake: Awaited<ReturnType<typeof startSmsFake>>;
  let settings: SmsSettings;
  let executor: ToolExecutor;
  let aicallId = '';

  beforeAll(async () => {
    fixture = await startToolFixture();
    fake = await startSmsFake();
    settings = { apiUrl: fake.url, accountSid, authToken, from: '+15550001111', timeoutMs: 2000 };
    executor = fixture.executor({ sms: settings });
    aicallId = await fixture.aicall(['send_message']);
  });

  afterAll(async () => {
    await fake?.close();
    await fixture?.stop();
  });

  beforeEach(() => {
    fake.requests.length = 0;
    fake.setAnswer(fake.answer);
    fixture.logs.length = 0;
  });

  /** Neither the token nor the account id shows in the result or the logs. */
  const expectNoSecrets = (result: unknown) => {
    for (const text of [JSON.stringify(result), fixture.logs.join('')]) {
      expect(text).not.toContain(authToken);
      expect(text).not.toContain(Buffer.from(`${accountSid}:${authToken}`).toString('base64'));
    }
  };

  it('posts the message form-encoded with basic auth and answers with the provider sid', async () => {
    const result = await fixture.run(executor, aicallId, 'send_message', {
      destinations: [{ type: 'tel', target: '+1 (555) 123-4567', target_name: 'Jane' }],
      text: 'Your code is 4321.',
    });
    expect(result).toMatchObject({
      result: 'success',
      message: 'Message sent successfully.',
      resource_type: 'message',
      resource_id: 'SM00000000000000000000000000000001',
      run_llm: true,
    });
    expect(fake.requests).toEqual([
      {
        method: 'POST',
        path: `/2010-04-01/Accounts/${accountSid}/Messages.json`,
        authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
        contentType: 'application/x-www-form-urlencoded',
        form: { To: '+15551234567', From: '+15550001111', Body: 'Your code is 4321.' },
      },
    ]);
    expectNoSecrets(result);
  });

  it('sends one request per distinct destination', async () => {
    const result = await fixture.run(executor, aicallId, 'send_message', {
      destinations: [
        { type: 'tel', target: '+15551230001' },
        { type: 'tel', target: '+44 20 7946 0000' },
        { type: 'tel', target: '+1-555-123-0001' },
      ],
      text: 'Meeting moved to 3 pm.',
    });
    expect(result.result).toBe('success');
    expect(fake.requests.map((request) => request.form.To).sort()).toEqual(['+15551230001', '+442079460000']);
    expect(result.data).toHaveLength(2);
  });

  it('answers bad arguments with failed results and sends nothing', async () => {
    const cases: unknown[] = [
      { destinations: [{ type: 'tel', target: 'call me maybe' }], text: 'hi' },
      { destinations: [{ type: 'tel', target: '5551234567' }], text: 'hi' }, // no country code
      { destinations: [{ type: 'tel', target: '+1555123456789012' }], text: 'hi' }, // too long for E.164
      { destinations: [], text: 'hi' },
      { destinations: [{ type: 'tel', target: '+15551234567' }], text: '' },
      { destinations: [{ type: 'tel', target: '+15551234567' }], text: 'x'.repeat(1601) },
      { destinations: Array.from({ length: 11 }, (_, i) => ({ type: 'tel', target: `+1555123${String(i).padStart(4, '0')}` })), text: 'hi' },
    ];
    for (const args of cases) {
      const result = await fixture.run(executor, aicallId, 'send_message', args);
      expect(result).toMatchObject({ result: 'failed', message: expect.stringContaining('Invalid arguments') });
    }
    expect(fake.requests).toHaveLength(0);
  });

  it("passes a 4xx provider message on, without the account's id", async () => {
    fake.setAnswer(json(400, { code: 21211, message: `The 'To' number +15559990000 is not valid for account ${accountSid}.`, status: 400 }));
    const result = await fixture.run(executor, aicallId, 'send_message', { destinations: [{ type: 'tel', target: '+15559990000' }], text: 'hi' });
    expect(result).toMatchObject({
      result: 'failed',
      message: "The message was not sent: the SMS provider refused it (HTTP 400): The 'To' number +15559990000 is not valid for account [redacted].",
      resource_type: 'message',
      resource_id: '',
    });
    expect(JSON.stringify(result)).not.toContain(accountSid);
    expectNoSecrets(result);
  });

  it('maps refused credentials, rate limits and provider errors to failed results', async () => {
    const send = () => fixture.run(executor, aicallId, 'send_message', { destinations: [{ type: 'tel', target: '+15559990000' }], text: 'hi' });
    fake.setAnswer(json(401, { code: 20003, message: 'Authenticate', status: 401 }));
    expect(await send()).toMatchObject({ result: 'failed', message: "The message was not sent: the SMS provider refused the platform's credentials." });
    fake.setAnswer(json(429, { code: 20429, message: 'Too Many Requests', status: 429 }));
    expect(await send()).toMatchObject({ result: 'failed', message: 'The message was not sent: the SMS provider is limiting requests; try again later.' });
    fake.setAnswer((_request, response) => {
      response.writeHead(503, { 'content-type': 'text/html' });
      response.end('<html>Service Unavailable</html>');
    });
    const unavailable = await send();
    expect(unavailable).toMatchObject({ result: 'failed', message: 'The message was not sent: the SMS provider failed (HTTP 503).' });
    fake.setAnswer(json(200, { status: 'queued' }));
    expect(await send()).toMatchObject({ result: 'failed', message: expect.stringContaining('gave no message id') });
    expectNoSecrets(unavailable);
  });

  it('says which numbers got the message when only some did', async () => {
    fake.setAnswer((request, response) =>
      request.form.To === '+15559990000' ? json(400, { code: 21614, message: 'Not a mobile number.', status: 400 })(request, response) : fake.answer(request, response),
    );
    const result = await fixture.run(executor, aicallId, 'send_message', {
      destinations: [
        { type: 'tel', target: '+15551230001' },
        { type: 'tel', target: '+15559990000' },
      ],
      text: 'hi',
    });
    expect(result.result).toBe('failed');
    expect(result.message).toBe('Sent to +15551230001 only. +15559990000: The message was not sent: the SMS provider refused it (HTTP 400): Not a mobile number.');
    expect(result.resource_id).toMatch(/^SM/);
  });

  it('gives up on a provider that does not answer in time', async () => {
    fake.setAnswer(() => undefined); // never answers
    const slow = fixture.executor({ sms: { ...settings, timeoutMs: 300 } });
    const started = Date.now();
    const result = await fixture.run(slow, aicallId, 'send_message', { destinations: [{ type: 'tel', target: '+15559990000' }], text: 'hi' });
    expect(result).toMatchObject({ result: 'failed', message: 'The SMS provider did not answer in time; the message may or may not have been sent.' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(fake.requests).toHaveLength(1);
    expectNoSecrets(result);
  });

  it('fails cleanly when the provider cannot be reached', async () => {
    const closed = await startSmsFake();
    await closed.close();
    const down = fixture.executor({ sms: { ...settings, apiUrl: closed.url } });
    const result = await fixture.run(down, aicallId, 'send_message', { destinations: [{ type: 'tel', target: '+15559990000' }], text: 'hi' });
    expect(result).toMatchObject({ result: 'failed', message: 'The message was not sent: the SMS provider could not be reached.' });
    expectNoSecrets(result);
  });

  it('keeps a path prefix of SMS_API_URL', async () => {
    const prefixed = fixture.executor({ sms: { ...settings, apiUrl: `${fake.url}/sms-proxy/` } });
    const result = await fixture.run(prefixed, aicallId, 'send_message', { destinations: [{ type: 'tel', target: '+15559990000' }], text: 'hi' });
    expect(result.result).toBe('success');
    expect(fake.requests[0]!.path).toBe(`/sms-proxy/2010-04-01/Accounts/${accountSid}/Messages.json`);
  });

  it('without an SMS provider the tool is not offered and answers that SMS is not configured', async () => {
    const unconfigured = fixture.executor({});
    expect(unconfigured.isAvailable('send_message')).toBe(false);
    expect(executor.isAvailable('send_message')).toBe(true);
    const result = await fixture.run(unconfigured, aicallId, 'send_message', { destinations: [{ type: 'tel', target: '+15559990000' }], text: 'hi' });
    expect(result).toMatchObject({ result: 'failed', message: 'Text messages (SMS) are not configured on this platform; the message was not sent.' });
    expect(fake.requests).toHaveLength(0);
  });
});
