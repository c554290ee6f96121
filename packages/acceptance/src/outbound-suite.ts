import type { TelephonyKind } from '@avp/asterisk-testing';
import { eventually } from '@avp/shared/testing';
import { beforeEach, expect, it } from 'vitest';
import { setUpAi, speech, type StoredMessage } from './calls.ts';
import type { Client, Cluster } from './cluster.ts';
import { describeOn, useCluster } from './suite.ts';

interface CallRecord {
  id: string;
  channel_id: string;
  direction: string;
  status: string;
  activeflow_id: string | null;
  hangup_by: string;
  hangup_reason: string;
}

const firstQuestion = 'Hello, this is a short survey from the Riverside clinic. How was your visit?';
const secondQuestion = 'Thank you. Would you come to us again?';
const closing = 'Thank you for your answers. Goodbye.';
const phrases = ['excellent', 'terrible', 'yes please', 'no thanks'];

/**
 * An outbound AI call as a clinic uses it: `POST /v1.0/calls` dials a patient (a test phone
 * that answers, reached through Asterisk's dialplan), the flow hands the answered call to an
 * AI that asks two questions, stores the answers in the activeflow's variables with
 * `set_variables` and ends with `stop_service`; the flow hangs up. The patient speaks espeak-ng
 * speech heard by the offline recogniser; the AI's words come from the fake LLM. A number the
 * dialplan cannot reach ends `failed` and runs no flow.
 */
export function outboundSuite(telephony: TelephonyKind): void {
  describeOn(telephony, 'acceptance: an outbound survey call (three processes, PostgreSQL + RabbitMQ)', () => {
    const clusterOf = useCluster('outbound', { telephony });
    let cluster: Cluster;
    beforeEach(() => {
      cluster = clusterOf();
    });

    it('calls a patient who answers; the AI asks two questions and the answers land in variables', async () => {
      const client: Client = await cluster.newCustomer('outbound');
      const setup = await setUpAi(client, {
        name: 'survey',
        tools: ['set_variables', 'stop_service'],
        phrases,
        flow: (aiId) => [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'hangup' }],
      });
      // Stateless: an answer prepared early and dropped (the caller went on) may ask again.
      cluster.llm.script(setup.model, (turn) => {
        if (turn.last?.role === 'tool') return { text: '' };
        const answers = turn.conversation.filter((message) => message.role === 'user').map((message) => String(message.content).toLowerCase());
        if (answers.length === 0) return { text: firstQuestion };
        if (answers.length === 1) return { text: secondQuestion };
        return {
          text: closing,
          toolCalls: [
            { name: 'set_variables', arguments: { variables: { survey_rating: answers[0]!, survey_again: answers[1]! } } },
            { name: 'stop_service', arguments: {} },
          ],
        };
      });

      const dialled = cluster.telephony.nextOutboundCall(30_000);
      const target = '+15550207001';
      const created = await client.api<{ calls: CallRecord[] }>('POST', '/v1.0/calls', {
        source: { type: 'tel', target: '+15550207000' },
        destinations: [{ type: 'tel', target }],
        flow_id: setup.flowId,
        variables: { campaign: 'after-visit' },
      });
      const [call] = created.calls;
      expect(call).toMatchObject({ direction: 'outgoing', status: 'dialing', destination: target });
      const patient = await dialled;
      await patient.waitForAnswer(15_000);

      let activeflowId = '';
      await eventually(async () => {
        activeflowId = (await client.api<CallRecord>('GET', `/v1.0/calls/${call!.id}`)).activeflow_id ?? '';
        return activeflowId !== '';
      }, 'the flow to start on the answered call', 15_000, 100);
      let aicallId = '';
      await eventually(async () => {
        const aicalls = await client.api<{ result: { id: string; activeflow_id: string }[] }>('GET', '/v1.0/aicalls?page_size=100');
        aicallId = aicalls.result.find((entry) => entry.activeflow_id === activeflowId)?.id ?? '';
        return aicallId !== '';
      }, 'the AI session', 20_000, 100);
      const messages = async () =>
        (await client.api<{ result: StoredMessage[] }>('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)).result.filter((message) => message.role !== 'system').reverse();
      const played = (text: string) => eventually(async () => (await messages()).some((message) => message.role === 'assistant' && message.content === text), `"${text}" to be played`, 30_000, 100);

      await played(firstQuestion);
      await patient.waitForSilence(15_000);
      await patient.play(await speech('excellent'));
      await played(secondQuestion);
      await patient.waitForSilence(15_000);
      await patient.play(await speech('yes please'));
      await patient.waitForHangup(60_000);

      await eventually(async () => (await client.api<{ status: string }>('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end', 20_000, 100);
      const activeflow = await client.api<{ variables: Record<string, string>; reference_id: string }>('GET', `/v1.0/activeflows/${activeflowId}`);
      expect(activeflow.reference_id).toBe(call!.id);
      expect(activeflow.variables).toMatchObject({ campaign: 'after-visit', survey_rating: 'excellent', survey_again: 'yes please', 'voipbin.call.direction': 'outgoing' });
      const said = (await messages()).filter((message) => message.role === 'user' || message.role === 'assistant').map((message) => [message.role, message.content]);
      expect(said).toEqual([
        ['assistant', firstQuestion],
        ['user', 'excellent'],
        ['assistant', secondQuestion],
        ['user', 'yes please'],
        ['assistant', closing],
      ]);
      await eventually(async () => (await client.api<CallRecord>('GET', `/v1.0/calls/${call!.id}`)).status === 'hangup', 'the call record to end', 20_000, 100);
      expect(await client.api<CallRecord>('GET', `/v1.0/calls/${call!.id}`)).toMatchObject({ status: 'hangup', hangup_by: 'local', hangup_reason: 'normal' });
      await eventually(async () => (await client.api<{ status: string }>('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000, 100);
      await eventually(async () => !(await cluster.telephony.channels()).some((channel) => channel.id === call!.channel_id), 'the call channel to be gone', 20_000, 100);
    }, 150_000);

    it('ends a call to a number the dialplan cannot reach failed, without running its flow', async () => {
      const client: Client = await cluster.newCustomer('outbound-failed');
      const created = await client.api<{ calls: CallRecord[] }>('POST', '/v1.0/calls', {
        source: { type: 'tel', target: '+15550207000' },
        destinations: [{ type: 'tel', target: '*0' }],
        actions: [{ type: 'answer' }, { type: 'talk', option: { text: 'Nobody hears this.' } }],
        timeout: 5,
      });
      const [call] = created.calls;
      await eventually(async () => (await client.api<CallRecord>('GET', `/v1.0/calls/${call!.id}`)).status === 'hangup', 'the call to end', 20_000, 100);
      expect(await client.api<CallRecord>('GET', `/v1.0/calls/${call!.id}`)).toMatchObject({ status: 'hangup', hangup_reason: 'failed', activeflow_id: null });
    }, 60_000);
  });
}
