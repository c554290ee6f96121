import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAiManager } from '@avp/ai-manager';
import { startAsteriskSimulator, type AsteriskSimulator } from '@avp/asterisk-simulator';
import { createFlowManager } from '@avp/flow-manager';
import { createPipelineManager, registryProviders, type PipelineManager } from '@avp/pipeline-manager';
import { createDatabase, createHttpServer, createInProcessBus, createMetricsRegistry, silentLogger, type Bus, type Database, type Service } from '@avp/shared';
import { createTestPgliteDatabase, eventually, freePort, type TestPgliteDatabase } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

const adminToken = randomBytes(16).toString('hex');

/**
 * send_email and send_message from a live voice session: the offline scripted engine calls
 * both tools during a call reached through a flow; the e-mail arrives at a real SMTP server
 * and the text message request at a loopback Twilio-shaped fake, both started here.
 */
describe('messaging tools from a voice AI session', () => {
  let testDatabase: TestPgliteDatabase;
  let database: Database;
  let bus: Bus;
  let simulator: AsteriskSimulator;
  let services: Service[] = [];
  let pipelineManager: PipelineManager;
  let app: FastifyInstance;
  let smtp: SMTPServer;
  let sms: Server;
  const mails: { mail: ParsedMail; rcptTo: string[] }[] = [];
  const texts: { path: string; authorization: string; form: Record<string, string> }[] = [];
  let key = '';

  beforeAll(async () => {
    smtp = new SMTPServer({
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
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    sms = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        texts.push({ path: request.url ?? '', authorization: request.headers.authorization ?? '', form: Object.fromEntries(new URLSearchParams(body)) });
        response.writeHead(201, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ sid: 'SM0000000000000000000000000000e2e1', status: 'queued' }));
      });
    });
    await new Promise<void>((resolve) => sms.listen(0, '127.0.0.1', resolve));

    testDatabase = await createTestPgliteDatabase();
    database = await createDatabase(testDatabase.options);
    bus = createInProcessBus();
    simulator = await startAsteriskSimulator({ ariUser: 'asterisk', ariPassword: 'secret' });
    const context = (name: string) => ({ database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `${name}-1` });
    const port = await freePort();
    const aiManager = await createAiManager(context('ai-manager'), {
      adminToken,
      engineKeyEncryptionKey: randomBytes(32).toString('hex'),
      rateLimit: { perSecond: 0, burst: 1 },
      email: { url: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`, from: 'Acme Assistant <ai@acme.example>' },
      sms: { apiUrl: `http://127.0.0.1:${(sms.address() as AddressInfo).port}`, accountSid: 'ACe2e', authToken: 'e2e-token', from: '+15550001111' },
    });
    const flowManager = await createFlowManager(context('flow-manager'), {
      ari: { connection: { url: simulator.url, user: 'asterisk', password: 'secret', app: 'avp' }, mediaBaseUrl: `http://127.0.0.1:${port}` },
    });
    pipelineManager = await createPipelineManager(context('pipeline-manager'), {
      createVad: async () => loudnessVad(),
      providers: { ...registryProviders, stt: () => scriptedStt([]) },
    });
    services = [aiManager, flowManager, pipelineManager];
    app = createHttpServer({ logger: silentLogger() });
    for (const service of services) await service.registerRoutes(app);
    await app.listen({ port, host: '127.0.0.1' });
    for (const service of services) await service.start();
    await simulator.waitForApp('avp');

    const customer = await app.inject({ method: 'POST', url: '/v1.0/customers', headers: { authorization: `Bearer ${adminToken}` }, payload: { name: 'e2e-messaging' } });
    key = (customer.json() as { accesskey: { key: string } }).accesskey.key;
  }, 60_000);

  afterAll(async () => {
    for (const service of [...services].reverse()) await service.stop();
    await app?.close();
    await simulator?.close();
    await bus?.close();
    await database?.close();
    await testDatabase?.drop();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (sms ? sms.close(() => resolve()) : resolve()));
  });

  async function api(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) });
    const json = response.json() as Record<string, unknown>;
    if (response.statusCode >= 400) throw new Error(`${method} ${url}: ${response.statusCode} ${JSON.stringify(json)}`);
    return json;
  }

  it('the AI e-mails and texts the caller during the call; both arrive', async () => {
    const script = {
      script: [
        { say: 'Hello. I am sending you the details by e-mail and by text message.' },
        {
          tool: 'send_email',
          arguments: {
            destinations: [{ type: 'email', target: 'caller@customer.example', target_name: 'Caller' }],
            subject: 'Your booking',
            content: 'Your table for two is booked for Friday at 8 pm.',
          },
        },
        { tool: 'send_message', arguments: { destinations: [{ type: 'tel', target: '+15557770000' }], text: 'Table for two, Friday 8 pm.' } },
        { say: 'Both are on their way. Goodbye.' },
        { end: true },
      ],
    };
    const ai = await api('POST', '/v1.0/ais', {
      name: 'messenger',
      engine_model: 'local.scripted',
      init_prompt: JSON.stringify(script),
      tts_type: 'local',
      tool_names: ['send_email', 'send_message', 'stop_service'],
    });
    const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: ai.id } }, { type: 'hangup' }] });
    const number = `+1${Math.floor(Math.random() * 1e10)}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });

    const caller = simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558880009' });
    await caller.waitForAudio(20_000);
    await caller.waitForHangup(60_000); // stop_service hands back to the flow, whose hangup ends the call

    await eventually(() => mails.length === 1, 'the e-mail to arrive');
    const { mail, rcptTo } = mails[0]!;
    expect(rcptTo).toEqual(['caller@customer.example']);
    expect(mail.from?.value[0]).toMatchObject({ name: 'Acme Assistant', address: 'ai@acme.example' });
    expect(mail.subject).toBe('Your booking');
    expect(mail.text?.trim()).toBe('Your table for two is booked for Friday at 8 pm.');

    expect(texts).toEqual([
      {
        path: '/2010-04-01/Accounts/ACe2e/Messages.json',
        authorization: `Basic ${Buffer.from('ACe2e:e2e-token').toString('base64')}`,
        form: { To: '+15557770000', From: '+15550001111', Body: 'Table for two, Friday 8 pm.' },
      },
    ]);

    const aicall = ((await api('GET', '/v1.0/aicalls')) as { result: { id: string }[] }).result[0]!;
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'terminated', 'the AIcall to end');
    const stored = ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)) as { result: { role: string; content: string }[] }).result.reverse();
    const results = stored.filter((message) => message.role === 'tool').map((message) => JSON.parse(message.content) as Record<string, unknown>);
    expect(results).toEqual([
      expect.objectContaining({ result: 'success', resource_type: 'email', resource_id: mail.messageId }),
      expect.objectContaining({ result: 'success', resource_type: 'message', resource_id: 'SM0000000000000000000000000000e2e1' }),
      expect.objectContaining({ result: 'success' }), // stop_service
    ]);
  }, 120_000);
});
