import { demoCallerLines, demoFlowActions, demoScript, demoSttPhrases } from '@avp/one-process/demo-scenario';
import { eventually } from '@avp/shared/testing';
import { beforeEach, expect, it } from 'vitest';
import { expectNothingLeft, placeCall } from './calls.ts';
import type { Cluster } from './cluster.ts';
import { acceptanceTelephony, describeOn, useCluster } from './suite.ts';

/**
 * The demo's call (`npm run demo`) through the three processes: the offline engines (the
 * scripted dialogue, espeak-ng, the phrase recogniser), the caller answering the AI's two
 * questions, set_variables, the end of the AI's script handing the call back, and the flow's
 * `talk` saying the variables before it hangs up.
 */
const telephony = acceptanceTelephony();
describeOn(telephony, "acceptance: the demo's call (three processes, PostgreSQL + RabbitMQ)", () => {
  const clusterOf = useCluster('demo', { telephony });
  let cluster: Cluster;
  beforeEach(() => {
    cluster = clusterOf();
  });

  it('greets, hears the name and the day, stores them, and the flow speaks them and hangs up', async () => {
    const client = await cluster.newCustomer('demo');
    const ai = await client.api<{ id: string }>('POST', '/v1.0/ais', {
      name: 'receptionist',
      engine_model: 'local.scripted',
      init_prompt: JSON.stringify(demoScript),
      stt_type: 'local',
      tts_type: 'local',
      stt_language: 'en-US',
      tool_names: ['set_variables', 'stop_service'],
      parameter: { stt_phrases: demoSttPhrases },
    });
    const flow = await client.api<{ id: string }>('POST', '/v1.0/flows', { name: 'demo', actions: demoFlowActions(ai.id) });
    const number = `+1555${String(Date.now()).slice(-7)}`;
    await client.api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });

    const call = await placeCall(cluster, client, number, '+15550109999');
    await call.waitForAnswer('Hello, this is the Riverside dental clinic. May I have your name, please?');
    await call.say(demoCallerLines[0]!);
    await call.waitForAnswer('Thank you, alice. Which day would you like to come in?');
    await call.say(demoCallerLines[1]!);
    await call.waitForAnswer('Great, alice. I have noted tuesday morning for you.');
    // The flow's talk after the AI: heard, then the flow hangs up.
    const aicallId = await call.aicallId();
    await eventually(async () => (await client.api<{ status: string }>('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AI session to end', 20_000, 100);
    await call.caller.waitForAudio(20_000);
    await call.caller.waitForHangup(30_000);

    const activeflow = await client.api<{ variables: Record<string, string>; status: string; end_reason: string }>('GET', `/v1.0/activeflows/${call.activeflowId}`);
    expect(activeflow.variables).toMatchObject({ caller_name: 'alice', appointment_day: 'tuesday morning' });
    const users = (await call.messages()).filter((message) => message.role === 'user').map((message) => message.content);
    expect(users).toEqual(['alice', 'tuesday morning']);
    await expectNothingLeft(cluster, client, call);
    expect((await client.api<{ status: string; end_reason: string }>('GET', `/v1.0/activeflows/${call.activeflowId}`)).end_reason).toBe('hangup action');
  }, 120_000);
});
