import { registryProviders } from '@avp/pipeline-manager';
import { eventually } from '@avp/shared/testing';
import { startFakeSmsApi, startFakeSmtp, type FakeSmsApi, type FakeSmtp } from '@avp/ai-manager/testing/messaging-fakes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { aiTalkActions, describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

/**
 * send_email and send_message from a live voice session: the offline scripted engine calls
 * both tools during a call reached through a flow; the e-mail arrives at a real SMTP server
 * and the text message request at a loopback Twilio-shaped fake, both started here.
 */
await describeModes('messaging tools from a voice AI session', (mode) => {
  let smtp: FakeSmtp;
  let sms: FakeSmsApi;
  beforeAll(async () => {
    smtp = await startFakeSmtp();
    sms = await startFakeSmsApi('SM0000000000000000000000000000e2e1');
  });
  afterAll(async () => {
    await smtp?.close();
    await sms?.close();
  });

  const stack = useStack(() => ({
    mode,
    name: 'messaging',
    aiManager: {
      email: { url: smtp.url, from: 'Acme Assistant <ai@acme.example>' },
      sms: { apiUrl: sms.url, accountSid: 'ACe2e', authToken: 'e2e-token', from: '+15550001111' },
    },
    pipelineManager: { createVad: async () => loudnessVad(), providers: { ...registryProviders, stt: () => scriptedStt([]) } },
  }));
  const api: Api = (...args) => stack.api(...args);

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
    const ai = await api('POST', '/v1.0/ais', scriptedAi(script, { name: 'messenger', stt_language: undefined, tool_names: ['send_email', 'send_message', 'stop_service'] }));
    const number = await stack.numberWithFlow(aiTalkActions(ai.id));

    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558880009' });
    await caller.waitForAudio(20_000);
    await caller.waitForHangup(60_000); // stop_service hands back to the flow, whose hangup ends the call

    await eventually(() => smtp.mails.length === 1, 'the e-mail to arrive');
    const { mail, rcptTo } = smtp.mails[0]!;
    expect(rcptTo).toEqual(['caller@customer.example']);
    expect(mail.from?.value[0]).toMatchObject({ name: 'Acme Assistant', address: 'ai@acme.example' });
    expect(mail.subject).toBe('Your booking');
    expect(mail.text?.trim()).toBe('Your table for two is booked for Friday at 8 pm.');

    expect(sms.requests).toEqual([
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
