import type { TelephonyKind } from '@avp/asterisk-testing';
import { rpcCall } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { startFakeSmsApi, startFakeSmtp, type FakeSmsApi, type FakeSmtp } from '@avp/ai-manager/testing/messaging-fakes';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { placeCall, setUpAi } from './calls.ts';
import type { Cluster } from './cluster.ts';
import { describeOn, useCluster } from './suite.ts';

/**
 * The six tools the scenario suites do not use, in one call through the three processes:
 * get_aicall_messages, send_email (a real SMTP server here), send_message (a Twilio-shaped fake
 * here), search_knowledge (a knowledge base made over the API), stop_media (a tone the flow
 * plays to the caller) and stop_flow (the call ends).
 */
export function toolsSuite(telephony: TelephonyKind): void {
  describeOn(telephony, 'acceptance: the other six tools in one call (three processes, PostgreSQL + RabbitMQ)', () => {
    let smtp: FakeSmtp;
    let sms: FakeSmsApi;
    beforeAll(async () => {
      smtp = await startFakeSmtp();
      sms = await startFakeSmsApi('SM00000000000000000000000000000acc');
    });
    afterAll(async () => {
      await smtp?.close();
      await sms?.close();
    });
    const clusterOf = useCluster('tools', {
      telephony,
      extraEnvironment: () => ({
        'ai-manager': {
          SMTP_URL: smtp.url,
          SMTP_FROM: 'Acme Assistant <ai@acme.example>',
          SMS_API_URL: sms.url,
          SMS_ACCOUNT_SID: 'ACacceptance',
          SMS_AUTH_TOKEN: 'acceptance-token',
          SMS_FROM: '+15550001111',
        },
      }),
    });
    let cluster: Cluster;
    beforeEach(() => {
      cluster = clusterOf();
    });

    it('reads its messages, e-mails, texts, searches the knowledge base, stops the flow\'s audio and ends the call', async () => {
      const client = await cluster.newCustomer('tools');
      const knowledgebase = await client.api<{ id: string }>('POST', '/v1.0/knowledgebases', { name: 'clinic' });
      await client.api('POST', `/v1.0/knowledgebases/${knowledgebase.id}/documents`, {
        name: 'hours',
        content: 'The Riverside clinic opens at nine in the morning and closes at six in the evening, Monday to Friday.',
      });
      const tools = ['get_aicall_messages', 'send_email', 'send_message', 'search_knowledge', 'stop_media', 'stop_flow'];
      const setup = await setUpAi(client, {
        name: 'tools',
        tools,
        phrases: ['yes please', 'no', 'goodbye for now'],
        ai: { knowledgebase_ids: [knowledgebase.id] },
        flow: (aiId) => [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'talk', option: { text: 'This is never said.' } }, { type: 'hangup' }],
      });
      let aicallId = '';
      const results: Record<string, Record<string, unknown>> = {};
      cluster.llm.script(setup.model, (turn) => {
        const offered = turn.tools;
        const lastCall = turn.conversation.filter((message) => message.role === 'assistant' && message.tool_calls?.length).at(-1)?.tool_calls?.[0]?.function.name;
        if (turn.last?.role === 'tool' && lastCall && turn.toolResult) results[lastCall] = turn.toolResult;
        if (turn.lastUser === '') return { text: `Hello. I can use ${offered.length} tools.` };
        if (turn.last?.role === 'user' && turn.lastUser === 'yes please') return { toolCalls: [{ name: 'get_aicall_messages', arguments: { aicall_id: aicallId, limit: 10 } }] };
        if (turn.last?.role === 'tool' && lastCall === 'get_aicall_messages')
          return { toolCalls: [{ name: 'send_email', arguments: { destinations: [{ type: 'email', target: 'caller@customer.example' }], subject: 'Your visit', content: 'See you soon.' } }] };
        if (turn.last?.role === 'tool' && lastCall === 'send_email') return { toolCalls: [{ name: 'send_message', arguments: { destinations: [{ type: 'tel', target: '+15557770000' }], text: 'See you soon.' } }] };
        if (turn.last?.role === 'tool' && lastCall === 'send_message') return { toolCalls: [{ name: 'search_knowledge', arguments: { query: 'when does the clinic open' } }] };
        if (turn.last?.role === 'tool' && lastCall === 'search_knowledge') return { text: 'We open at nine.' };
        if (turn.last?.role === 'user' && turn.lastUser.includes('stop the music')) return { toolCalls: [{ name: 'stop_media', arguments: {} }] };
        if (turn.last?.role === 'tool' && lastCall === 'stop_media') return {};
        if (turn.last?.role === 'user' && turn.lastUser === 'goodbye for now') return { toolCalls: [{ name: 'stop_flow', arguments: {} }] };
        return { text: 'Sorry?' };
      });

      const call = await placeCall(cluster, client, setup.number, '+15558880009');
      aicallId = await call.aicallId();
      await call.waitForAnswer(`Hello. I can use ${tools.length} tools.`);
      await call.say('yes please');
      await call.waitForAnswer('We open at nine.', 60_000);
      await call.caller.waitForSilence(10_000);

      // Music played to the caller's channel, as a flow would; the AI stops it. Asked in a
      // message sent into the session: while media plays on a bridged channel, Asterisk does not
      // pass that channel's own voice into the bridge, so the AI could not hear a spoken request.
      const callId = (await client.api<{ result: { id: string; channel_id: string }[] }>('GET', '/v1.0/calls')).result.find((entry) => entry.channel_id === call.caller.id)!.id;
      const hearsTone = call.caller.waitForAudio(10_000);
      await rpcCall(cluster.bus, 'flow-manager', 'POST', `/v1/calls/${callId}/play`, { customer_id: client.customerId, stream_urls: ['tone:440'] });
      await hearsTone;
      await eventually(
        async () => (await client.request('POST', '/v1.0/aimessages', { aicall_id: aicallId, role: 'user', content: 'Please stop the music.' })).status === 200,
        'the message to be taken (not within the send cooldown)',
        10_000,
        500,
      );
      await eventually(() => results.stop_media !== undefined, 'stop_media to run', 20_000, 100);
      await call.caller.waitForSilence(5000);

      await call.say('goodbye for now');
      await call.caller.waitForHangup(20_000);

      expect(results.get_aicall_messages).toMatchObject({ result: 'success' });
      expect(JSON.stringify(results.get_aicall_messages)).toContain(`Hello. I can use ${tools.length} tools.`);
      await eventually(() => smtp.mails.length === 1, 'the e-mail');
      expect(smtp.mails[0]).toMatchObject({ rcptTo: ['caller@customer.example'] });
      expect(smtp.mails[0]!.mail.subject).toBe('Your visit');
      expect(sms.requests.map((request) => request.form)).toEqual([{ To: '+15557770000', From: '+15550001111', Body: 'See you soon.' }]);
      expect(results.send_email).toMatchObject({ result: 'success', resource_type: 'email' });
      expect(results.send_message).toMatchObject({ result: 'success', resource_type: 'message' });
      expect(JSON.stringify(results.search_knowledge)).toContain('opens at nine in the morning');
      expect(results.stop_media).toMatchObject({ result: 'success' });
      const activeflow = await client.api<{ status: string; end_reason: string }>('GET', `/v1.0/activeflows/${call.activeflowId}`);
      expect(activeflow.status).toBe('ended');
      const messages = await call.messages();
      expect(messages.flatMap((message) => message.tool_calls ?? []).map((entry) => entry.function.name)).toEqual([...tools]);
    }, 180_000);
  });
}
