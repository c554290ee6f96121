import type { TelephonyKind } from '@avp/asterisk-testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '@avp/shared/testing';
import { expectNothingLeft, isMediaChannel, placeCall, setUpAi, speech } from './calls.ts';
import type { Cluster } from './cluster.ts';
import type { ChatMessage } from '@avp/pipeline-manager/llm-fake';
import { describeOn, useCluster } from './suite.ts';

const longAnswer =
  'Our clinic opens at eight in the morning on every weekday. ' +
  'On Saturdays we open at nine and close at one in the afternoon. ' +
  'On Sundays and public holidays the clinic stays closed all day. ' +
  'For emergencies outside these hours please call the hospital line.';

const flowWithAi = (aiId: string) => [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'hangup' }];

/** The messages without system prompts, in the shape compared below. */
const dialogue = (messages: ChatMessage[]) => messages.filter((message) => message.role !== 'system').map((message) => ({ role: message.role, content: message.content }));

/**
 * Call control against the three service processes: the caller hanging up at every stage of
 * an AI call leaves nothing behind (no pipeline, media channel, bridge or live AIcall),
 * barge-in cuts the answer where the caller stopped hearing it, the context holds over five
 * turns, and DTMF reaches the LLM as a user event.
 */
/** The suite against one telephony (its test file picks it: see acceptanceTelephony). */
export function callControlSuite(telephony: TelephonyKind, mediaTransport: 'rtp' | 'websocket' = 'rtp'): void {
  describeOn(telephony, `acceptance: hang-ups, barge-in, context and DTMF over ${mediaTransport} media (three processes, PostgreSQL + RabbitMQ)`, () => {
  const clusterOf = useCluster(`call-control-${mediaTransport}`, { telephony, extraEnvironment: { 'pipeline-manager': { MEDIA_TRANSPORT: mediaTransport } } });
  let cluster: Cluster;
  beforeEach(() => {
    cluster = clusterOf();
  });

  describe('the caller hangs up, and nothing is left behind', () => {
    it('while the call is still ringing', async () => {
      const client = await cluster.newCustomer('hangup-ringing');
      const setup = await setUpAi(client, { name: 'ringing', flow: flowWithAi });
      cluster.llm.script(setup.model, () => ({ text: 'Hello.' }));
      const caller = cluster.telephony.placeCall({ extension: setup.number, callerNumber: '+15550002001' });
      expect(caller.channel.state).not.toBe('Up');
      caller.hangup();
      await eventually(async () => !(await cluster.telephony.channels()).some((channel) => channel.id === caller.id), 'the channel to go', 10_000, 50);
      // Whatever flow-manager made of the call ends; no AI session runs on.
      await eventually(
        async () => {
          const calls = await client.api<{ result: { channel_id: string; status: string }[] }>('GET', '/v1.0/calls');
          return calls.result.every((entry) => entry.status === 'hangup');
        },
        'every call record to be hung up',
        20_000,
        100,
      );
      await eventually(
        async () => (await client.api<{ result: { status: string }[] }>('GET', '/v1.0/activeflows')).result.every((activeflow) => activeflow.status === 'ended'),
        'every activeflow to end',
        20_000,
        100,
      );
      await eventually(
        async () => (await client.api<{ result: { status: string }[] }>('GET', '/v1.0/aicalls')).result.every((aicall) => aicall.status === 'terminated'),
        'no live AIcall',
        20_000,
        100,
      );
      expect((await cluster.telephony.channels()).filter((channel) => isMediaChannel(channel.name))).toEqual([]);
      expect(await cluster.pipelines()).toEqual([]);
      expect(cluster.llm.requests(setup.model)).toEqual([]);
    }, 60_000);

    it('during the greeting', async () => {
      const client = await cluster.newCustomer('hangup-greeting');
      const setup = await setUpAi(client, { name: 'greeting', flow: flowWithAi });
      cluster.llm.script(setup.model, () => ({ text: longAnswer }));
      const call = await placeCall(cluster, client, setup.number);
      await call.caller.waitForAudio(20_000);
      expect(call.mediaChannels.size).toBe(1);
      expect((await cluster.pipelines()).some((pipeline) => pipeline.aicall_id !== undefined)).toBe(true);
      call.caller.hangup();
      await expectNothingLeft(cluster, client, call);
    }, 60_000);

    it('in the middle of an answer', async () => {
      const client = await cluster.newCustomer('hangup-answer');
      const setup = await setUpAi(client, { name: 'answer', phrases: ['when are you open', 'yes', 'no'], flow: flowWithAi });
      cluster.llm.script(setup.model, (turn) => ({ text: turn.lastUser === '' ? 'Hello, how can I help?' : longAnswer }));
      const call = await placeCall(cluster, client, setup.number);
      await call.waitForAnswer('Hello, how can I help?');
      await call.say('When are you open');
      await call.caller.waitForAudio(20_000);
      await eventually(() => cluster.llm.requests(setup.model).length === 2, 'the answer to be requested');
      call.caller.hangup();
      await expectNothingLeft(cluster, client, call);
      // The answer was not played to the end, so it is not stored whole.
      expect((await call.messages()).some((message) => message.content === longAnswer)).toBe(false);
    }, 60_000);

    it('while the LLM is calling a tool', async () => {
      const client = await cluster.newCustomer('hangup-tool');
      const setup = await setUpAi(client, { name: 'tool', tools: ['get_variables'], phrases: ['look up my account', 'yes', 'no'], flow: flowWithAi });
      cluster.llm.script(setup.model, (turn) => {
        if (turn.lastUser === '') return { text: 'Hello, how can I help?' };
        // The tool-triggering turn stalls after the tool call started streaming.
        return { toolCalls: [{ name: 'get_variables', arguments: {} }], toolStallMs: 20_000 };
      });
      const call = await placeCall(cluster, client, setup.number);
      await call.waitForAnswer('Hello, how can I help?');
      await call.say('Look up my account');
      await eventually(() => cluster.llm.requests(setup.model).length === 2, 'the tool-calling request', 20_000, 50);
      const toolTurn = cluster.llm.requests(setup.model)[1]!;
      call.caller.hangup();
      await expectNothingLeft(cluster, client, call);
      // The stalled LLM stream was closed by the pipeline, not left to run out.
      expect(toolTurn.signal.aborted).toBe(true);
    }, 60_000);
  });

  it('barge-in: the caller talks over a long answer, the audio stops and the stored answer is cut where it stopped', async () => {
    const client = await cluster.newCustomer('barge-in');
    const setup = await setUpAi(client, { name: 'bargein', phrases: ['when are you open', 'stop talking please', 'yes', 'no'], flow: flowWithAi });
    cluster.llm.script(setup.model, (turn) => {
      if (turn.lastUser === '') return { text: 'Hello, how can I help?' };
      if (turn.lastUser === 'when are you open') return { text: longAnswer };
      return { text: 'Of course. Goodbye.' };
    });
    const call = await placeCall(cluster, client, setup.number);
    await call.waitForAnswer('Hello, how can I help?');
    await call.say('When are you open');
    const answerStartedAt = await call.caller.waitForAudio(20_000);
    // Two seconds into an answer of about fifteen, the caller talks over it.
    await eventually(() => call.caller.now() > answerStartedAt + 2000, 'two seconds of the answer', 5000, 20);
    const interruption = call.caller.interrupt(await speech('Stop talking please'));
    await call.caller.waitForSilence(5000);
    await interruption;
    expect(call.caller.bargeInLatenciesMs.length).toBeGreaterThanOrEqual(1);
    expect(call.caller.bargeInLatenciesMs.at(-1)!).toBeLessThan(1500);

    let cut = '';
    await eventually(
      async () => {
        cut = (await call.messages()).find((message) => message.role === 'assistant' && message.content !== longAnswer && message.content.length > 10 && longAnswer.startsWith(message.content.replace(/[.…]+$/, '').trim()))?.content ?? '';
        return cut !== '';
      },
      'the cut answer to be stored',
      20_000,
      100,
    );
    expect(cut.length).toBeLessThan(longAnswer.length - 40);
    // The interruption is the next user turn; the LLM sees the cut answer before it.
    await eventually(() => cluster.llm.requests(setup.model).length >= 3, 'the answer to the interruption', 20_000, 50);
    const history = dialogue(cluster.llm.requests(setup.model)[2]!.messages);
    expect(history.slice(-2), JSON.stringify(await call.messages())).toEqual([
      { role: 'assistant', content: cut },
      { role: 'user', content: 'stop talking please' },
    ]);
    await call.waitForAnswer('Of course. Goodbye.');
    call.caller.hangup();
    await expectNothingLeft(cluster, client, call);
  }, 90_000);

  it('context: every LLM request over five turns carries the whole conversation so far', async () => {
    const lines = ['my name is alice', 'i live in paris', 'i like green tea', 'i have two cats', 'what do you remember'];
    const client = await cluster.newCustomer('context');
    const setup = await setUpAi(client, { name: 'context', phrases: [...lines, 'yes', 'no'], flow: flowWithAi });
    const answers = ['Hello, tell me about yourself.', 'Noted, turn one.', 'Noted, turn two.', 'Noted, turn three.', 'Noted, turn four.', 'You are Alice from Paris.'];
    cluster.llm.script(setup.model, (turn) => ({ text: answers[turn.conversation.filter((message) => message.role === 'user').length] ?? 'Sorry?' }));
    const call = await placeCall(cluster, client, setup.number);
    await call.waitForAnswer(answers[0]!);
    for (const [index, line] of lines.entries()) {
      await call.say(line);
      await call.waitForAnswer(answers[index + 1]!);
    }
    const requests = cluster.llm.requests(setup.model);
    expect(requests).toHaveLength(6);
    // What the caller said is what the recogniser heard, as stored: on a heavily loaded machine
    // the offline recogniser once heard "no" for "my name is alice" (the property here is the
    // context the LLM gets, not recognition, which the scenarios check).
    const heard = (await call.messages()).filter((message) => message.role === 'user').map((message) => message.content);
    expect(heard).toHaveLength(lines.length);
    const recognised = heard.filter((text, index) => text === lines[index]).length;
    if (recognised < lines.length) console.warn(`context: the recogniser heard ${JSON.stringify(heard)} for ${JSON.stringify(lines)}`);
    expect(recognised, 'most lines recognised as said').toBeGreaterThanOrEqual(lines.length - 1);
    const expected: { role: string; content: string }[] = [{ role: 'assistant', content: answers[0]! }];
    for (const [index, request] of requests.entries()) {
      expect(request.messages[0]).toMatchObject({ role: 'system' });
      expect(dialogue(request.messages), `request ${index + 1}`).toEqual(expected.slice(0, index === 0 ? 0 : 2 * index));
      if (index < lines.length) expected.push({ role: 'user', content: heard[index]! }, { role: 'assistant', content: answers[index + 1]! });
    }
    expect(dialogue(requests[5]!.messages).filter((message) => message.role === 'user').map((message) => message.content)).toEqual(heard);
    call.caller.hangup();
    await expectNothingLeft(cluster, client, call);
  }, 120_000);

  it('DTMF: a key the caller presses reaches the LLM as a user event and is answered', async () => {
    const client = await cluster.newCustomer('dtmf');
    const setup = await setUpAi(client, { name: 'dtmf', flow: flowWithAi });
    cluster.llm.script(setup.model, (turn) => {
      if (turn.lastUser === '') return { text: 'Press one for sales or two for support.' };
      if (turn.lastUser === '[the caller pressed the phone key 2]') return { text: 'You chose support.' };
      return { text: 'Sorry?' };
    });
    const call = await placeCall(cluster, client, setup.number);
    await call.waitForAnswer('Press one for sales or two for support.');
    await call.caller.sendDtmf('2');
    await call.waitForAnswer('You chose support.');
    expect(dialogue(cluster.llm.requests(setup.model)[1]!.messages).at(-1)).toEqual({ role: 'user', content: '[The caller pressed the phone key 2]' });
    // The key press is stored like speech, so the stored conversation is the one the LLM saw.
    const stored = await call.messages();
    const press = stored.findIndex((message) => message.role === 'user' && message.content === '[The caller pressed the phone key 2]');
    expect(press).toBeGreaterThanOrEqual(0);
    expect(stored.slice(press + 1).some((message) => message.role === 'assistant' && message.content === 'You chose support.')).toBe(true);
    call.caller.hangup();
    await expectNothingLeft(cluster, client, call);
  }, 60_000);
});
}
