import { signTwilio, startFakeSmsApi, type FakeSmsApi } from '@avp/ai-manager/testing/messaging-fakes';
import { eventually } from '@avp/shared/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, Cluster } from './cluster.ts';
import { useCluster } from './suite.ts';

const publicUrl = 'https://hooks.example.test';

/**
 * The overview's "Using AI in Conversations (SMS / LINE)" against the three services as separate
 * processes over PostgreSQL and RabbitMQ, with two pipeline-manager processes: an SMS
 * conversation with context; the pipeline-manager that answered is killed (SIGKILL) between
 * messages and the next message is answered by the other; a burst of two messages gets one reply.
 * Telephony plays no part: no call is placed.
 */
describe('acceptance: SMS conversations with an AI', () => {
  let sms: FakeSmsApi;
  beforeAll(async () => {
    sms = await startFakeSmsApi('SM0000000000000000000000000000acc1');
  });
  afterAll(async () => {
    await sms?.close();
  });
  const cluster: () => Cluster = useCluster('conversations', {
    telephony: 'simulator',
    pipelineManagers: 2,
    extraEnvironment: { 'ai-manager': { OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', PUBLIC_URL: publicUrl } },
  });

  async function setup(client: Client, model: string) {
    const ai = await client.api('POST', '/v1.0/ais', { name: `sms-${model}`, engine_model: `openai.${model}`, tool_names: ['set_variables', 'get_variables', 'stop_service'] });
    const flow = await client.api('POST', '/v1.0/flows', { actions: [{ type: 'ai_talk', option: { ai_id: ai.id } }] });
    const number = `+1555${Math.floor(Math.random() * 1e7).toString().padStart(7, '0')}`;
    await client.api('POST', '/v1.0/numbers', { number, message_flow_id: flow.id });
    const channel = await client.api<{ id: string; webhook_url: string }>('POST', '/v1.0/conversation_channels', {
      type: 'sms',
      api_base_url: sms.url,
      account_sid: 'ACacc',
      auth_token: 'acceptance-token',
    });
    expect(channel.webhook_url).toBe(`${publicUrl}/v1.0/conversation_channels/${channel.id}/webhook`);
    const textIn = async (from: string, body: string) => {
      const params = { MessageSid: `SM${randomUUID().replaceAll('-', '')}`, AccountSid: 'ACacc', From: from, To: number, Body: body };
      const response = await fetch(`${cluster().services['ai-manager'].url}/v1.0/conversation_channels/${channel.id}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilio(channel.webhook_url, params, 'acceptance-token') },
        body: new URLSearchParams(params).toString(),
      });
      expect(response.status).toBe(200);
    };
    return { number, channel, textIn };
  }

  const repliesTo = (peer: string) => sms.requests.filter((request) => request.form.To === peer).map((request) => request.form.Body);

  /** The pipeline-manager processes whose log says they answered this many text turns of the AIcall. */
  const answeredBy = (aicallId: string) =>
    Object.entries(cluster().processes)
      .filter(([name]) => name.startsWith('pipeline-manager'))
      .map(([name, process]) => ({ name, process, count: process.logText().split('\n').filter((line) => line.includes('"msg":"text answer"') && line.includes(aicallId)).length }));

  it('a three-message SMS conversation keeps its context while the pipeline-manager that answered is killed in between', async () => {
    const client = await cluster().newCustomer('sms-context');
    const model = `acc-sms-${randomUUID().slice(0, 8)}`;
    cluster().llm.script(model, (turn) => {
      const users = turn.conversation.filter((message) => message.role === 'user').map((message) => String(message.content));
      const name = users.map((text) => /my name is (\w+)/i.exec(text)?.[1]).find(Boolean);
      if (turn.last?.role === 'tool') return { text: name ? `Noted, ${name}.` : 'Noted.' };
      if (/my name is/i.test(turn.lastUser)) return { toolCalls: [{ name: 'set_variables', arguments: { variables: { customer_name: name } } }] };
      if (/what is my name/i.test(turn.lastUser)) return { text: name ? `You are ${name}.` : 'I do not know.' };
      return { text: `(${users.length}) ${turn.lastUser}` };
    });
    const { textIn } = await setup(client, model);
    const peer = '+15557002001';

    await textIn(peer, 'Hello');
    await eventually(() => repliesTo(peer).length === 1, 'the first reply', 20_000);
    await textIn(peer, 'My name is Lin');
    await eventually(() => repliesTo(peer).length === 2, 'the second reply', 20_000);

    // Kill the process that wrote the last answer: the next message must be answered by the other.
    const conversation = (await client.api<{ result: { id: string }[] }>('GET', '/v1.0/conversations')).result[0]!;
    const aicall = (await client.api<{ result: { id: string }[] }>('GET', `/v1.0/aicalls?reference_type=conversation&reference_id=${conversation.id}`)).result[0]!;
    const before = answeredBy(aicall.id);
    const last = before.find((entry) => entry.count > 0 && entry.process.running);
    expect(last, 'a pipeline-manager logged the answers').toBeDefined();
    last!.process.signal('SIGKILL');
    await last!.process.service.exited;

    await textIn(peer, 'What is my name?');
    await eventually(() => repliesTo(peer).length === 3, 'the third reply from the other pipeline-manager', 30_000);
    expect(repliesTo(peer)).toEqual(['(1) hello', 'Noted, Lin.', 'You are Lin.']);
    const after = answeredBy(aicall.id);
    const other = after.find((entry) => entry.name !== last!.name)!;
    expect(other.count).toBeGreaterThan(before.find((entry) => entry.name === other.name)!.count);
    // One AIcall for the whole conversation.
    expect((await client.api<{ result: unknown[] }>('GET', `/v1.0/aicalls?reference_type=conversation&reference_id=${conversation.id}`)).result).toHaveLength(1);
    await last!.process.start();
    await cluster().waitUntilReady();
  });

  it('two messages 100 ms apart get one reply, to the second', async () => {
    const client = await cluster().newCustomer('sms-burst');
    const model = `acc-burst-${randomUUID().slice(0, 8)}`;
    cluster().llm.script(model, (turn) => ({ text: `Reply to: ${turn.lastUser}`, delayMs: 300 }));
    const { textIn } = await setup(client, model);
    const peer = '+15557002002';
    await textIn(peer, 'first');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await textIn(peer, 'second');
    await eventually(() => repliesTo(peer).length >= 1, 'a reply', 20_000);
    // Long enough for a second reply, if one were coming, to arrive.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(repliesTo(peer)).toEqual(['Reply to: second']);
  });
});
