import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startToolFixture, type ToolFixture } from '../testing/tool-fixture.ts';
import { toolDefinitions } from './tool-catalog.ts';
import type { ToolExecutor } from './tool-executor.ts';

const password = 'p@ss word:1';
const smtpUser = 'mailer';

interface Received {
  mail: ParsedMail;
  envelopeFrom: string;
  envelopeTo: string[];
  user: unknown;
}

/** A real SMTP server on 127.0.0.1 (no TLS), with password auth, keeping what arrives. */
async function startSmtpServer(): Promise<{ port: number; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === smtpUser && auth.password === password) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      if (address.address.endsWith('@refused.example')) callback(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
      else callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push({
            mail,
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            envelopeTo: session.envelope.rcptTo.map((entry) => entry.address),
            user: session.user,
          });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const addresses = (value: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(value) ? value : value ? [value] : []).flatMap((entry) => entry.value.map((address) => ({ name: address.name, address: address.address })));

describe('send_email through a real SMTP server', () => {
  let fixture: ToolFixture;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let executor: ToolExecutor;
  let aicallId = '';

  beforeAll(async () => {
    fixture = await startToolFixture();
    smtp = await startSmtpServer();
    executor = fixture.executor({
      email: { url: `smtp://${smtpUser}:${encodeURIComponent(password)}@127.0.0.1:${smtp.port}`, from: 'Acme Assistant <ai@acme.example>', timeoutMs: 2000 },
    });
    aicallId = await fixture.aicall(['send_email']);
  });

  afterAll(async () => {
    await smtp?.close();
    await fixture?.stop();
  });

  beforeEach(() => {
    smtp.received.length = 0;
    fixture.logs.length = 0;
  });

  it('delivers the e-mail: sender, recipients, subject and body', async () => {
    const result = await fixture.run(executor, aicallId, 'send_email', {
      destinations: [
        { type: 'email', target: 'jane@customer.example', target_name: 'Jane Doe' },
        { type: 'email', target: 'bob@customer.example' },
        { type: 'email', target: 'JANE@customer.example' }, // the same address again: sent once
      ],
      subject: 'Your appointment',
      content: 'Hello Jane,\n\nyour appointment is on Monday at 10:00.\n',
    });
    expect(result).toMatchObject({ tool_call_id: expect.any(String), result: 'success', message: 'Email sent successfully.', resource_type: 'email', run_llm: true });
    expect(smtp.received).toHaveLength(1);
    const { mail, envelopeFrom, envelopeTo, user } = smtp.received[0]!;
    expect(user).toBe(smtpUser);
    expect(envelopeFrom).toBe('ai@acme.example');
    expect(envelopeTo).toEqual(['jane@customer.example', 'bob@customer.example']);
    expect(addresses(mail.from)).toEqual([{ name: 'Acme Assistant', address: 'ai@acme.example' }]);
    expect(addresses(mail.to)).toEqual([
      { name: 'Jane Doe', address: 'jane@customer.example' },
      { name: '', address: 'bob@customer.example' },
    ]);
    expect(mail.subject).toBe('Your appointment');
    expect(mail.text?.trim()).toBe('Hello Jane,\n\nyour appointment is on Monday at 10:00.');
    expect(mail.html).toBe(false);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(result.resource_id).toBe(mail.messageId);
  });

  it('sends HTML content as HTML with a text alternative', async () => {
    const result = await fixture.run(executor, aicallId, 'send_email', {
      destinations: [{ type: 'email', target: 'jane@customer.example' }],
      subject: 'Order 1234',
      content: '<p>Your order <b>1234</b> has shipped.</p><p>Tracking: <a href="https://track.example/1234">here</a></p>',
    });
    expect(result.result).toBe('success');
    const { mail } = smtp.received[0]!;
    expect(mail.html).toContain('<b>1234</b>');
    expect(mail.text).toContain('Your order 1234 has shipped.');
    expect(mail.text).not.toContain('<');
  });

  it('reports recipients the server refused, and fails when it refuses them all', async () => {
    const partly = await fixture.run(executor, aicallId, 'send_email', {
      destinations: [
        { type: 'email', target: 'jane@customer.example' },
        { type: 'email', target: 'ghost@refused.example' },
      ],
      subject: 'Hello',
      content: 'Hi',
    });
    expect(partly).toMatchObject({ result: 'success', message: 'Email sent successfully, but the mail server refused ghost@refused.example.' });
    expect(smtp.received[0]!.envelopeTo).toEqual(['jane@customer.example']);

    const none = await fixture.run(executor, aicallId, 'send_email', {
      destinations: [{ type: 'email', target: 'ghost@refused.example' }],
      subject: 'Hello',
      content: 'Hi',
    });
    expect(none).toMatchObject({ result: 'failed', message: 'The e-mail was not sent: the mail server refused the recipients (SMTP 550).', resource_id: '' });
    expect(smtp.received).toHaveLength(1);
  });

  it('answers bad arguments with failed results and sends nothing', async () => {
    const cases: unknown[] = [
      { destinations: [{ type: 'email', target: 'not an address' }], subject: 'x', content: 'y' },
      { destinations: [], subject: 'x', content: 'y' },
      { destinations: Array.from({ length: 11 }, (_, i) => ({ type: 'email', target: `user${i}@customer.example` })), subject: 'x', content: 'y' },
      { destinations: [{ type: 'email', target: 'jane@customer.example' }], subject: 'x\r\nBcc: victim@customer.example', content: 'y' },
      { destinations: [{ type: 'email', target: 'jane@customer.example' }], subject: 'x'.repeat(201), content: 'y' },
      { destinations: [{ type: 'email', target: 'jane@customer.example' }], subject: 'x', content: 'y'.repeat(100_001) },
      { destinations: [{ type: 'email', target: 'jane@customer.example' }], subject: 'x' },
    ];
    for (const args of cases) {
      const result = await fixture.run(executor, aicallId, 'send_email', args);
      expect(result).toMatchObject({ result: 'failed', message: expect.stringContaining('Invalid arguments') });
    }
    expect(smtp.received).toHaveLength(0);
  });

  it('fails cleanly when the SMTP server is down, with no secret in the result or the logs', async () => {
    const down = await startSmtpServer();
    await down.close(); // a port where nothing listens
    const unreachable = fixture.executor({
      email: { url: `smtp://${smtpUser}:${encodeURIComponent(password)}@127.0.0.1:${down.port}`, from: 'ai@acme.example', timeoutMs: 2000 },
    });
    const result = await fixture.run(unreachable, aicallId, 'send_email', {
      destinations: [{ type: 'email', target: 'jane@customer.example' }],
      subject: 'Hello',
      content: 'Hi',
    });
    expect(result).toMatchObject({ result: 'failed', message: 'The e-mail was not sent: the mail server could not be reached.', resource_type: 'email' });
    expect(fixture.logs.join('')).toContain('e-mail not sent');
    for (const text of [JSON.stringify(result), fixture.logs.join('')]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(encodeURIComponent(password));
    }
  });

  it('fails cleanly when the server refuses the credentials', async () => {
    const wrong = fixture.executor({ email: { url: `smtp://${smtpUser}:wrong@127.0.0.1:${smtp.port}`, from: 'ai@acme.example', timeoutMs: 2000 } });
    const result = await fixture.run(wrong, aicallId, 'send_email', {
      destinations: [{ type: 'email', target: 'jane@customer.example' }],
      subject: 'Hello',
      content: 'Hi',
    });
    expect(result).toMatchObject({ result: 'failed', message: "The e-mail was not sent: the mail server refused the platform's credentials." });
    expect(smtp.received).toHaveLength(0);
  });

  it('fails cleanly when the server does not answer in time', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined); // accepts, never greets
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const slow = fixture.executor({ email: { url: `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`, from: 'ai@acme.example', timeoutMs: 300 } });
      const started = Date.now();
      const result = await fixture.run(slow, aicallId, 'send_email', {
        destinations: [{ type: 'email', target: 'jane@customer.example' }],
        subject: 'Hello',
        content: 'Hi',
      });
      expect(result).toMatchObject({ result: 'failed', message: 'The e-mail was not sent: the mail server did not answer in time.' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });

  it('without SMTP the tool is not offered and answers that e-mail is not configured', async () => {
    const unconfigured = fixture.executor({});
    expect(unconfigured.isAvailable('send_email')).toBe(false);
    expect(executor.isAvailable('send_email')).toBe(true);
    expect(toolDefinitions(['all']).filter((tool) => unconfigured.isAvailable(tool.name)).map((tool) => tool.name)).not.toContain('send_email');
    const result = await fixture.run(unconfigured, aicallId, 'send_email', {
      destinations: [{ type: 'email', target: 'jane@customer.example' }],
      subject: 'Hello',
      content: 'Hi',
    });
    expect(result).toMatchObject({ result: 'failed', message: 'E-mail is not configured on this platform; the e-mail was not sent.' });
  });

  it('refuses the tool to an AI that was not given it', async () => {
    const other = await fixture.aicall(['send_message']);
    const result = await fixture.run(executor, other, 'send_email', {
      destinations: [{ type: 'email', target: 'jane@customer.example' }],
      subject: 'Hello',
      content: 'Hi',
    });
    expect(result).toMatchObject({ result: 'failed', message: 'The tool send_email is not enabled for this AI.' });
    expect(smtp.received).toHaveLength(0);
  });
});
