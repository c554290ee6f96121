import type { TelephonyKind } from '@avp/asterisk-testing';
import { eventually } from '@avp/shared/testing';
import { beforeEach, expect, it } from 'vitest';
import { expectNothingLeft, placeCall, setUpAi, type LiveCall } from './calls.ts';
import type { Client, Cluster } from './cluster.ts';
import { customerWithWebhooks, expectLedgerComplete, expectWebhooksOnceInOrder, webhooksToLoopback, type WebhookReceiver } from './fault-records.ts';
import { describeOn, useCluster } from './suite.ts';

/** What the caller says, turn by turn (phrases the offline recogniser knows). */
const lines = ['i want to book a table', 'for two people'];
const answerTo = (line: string) => `You said ${line}. Anything else?`;
const greeting = 'Hello, how can I help?';

/** One fault, injected while the AI is answering the first utterance. */
export interface Fault {
  name: string;
  inject(cluster: Cluster): Promise<void>;
}

/**
 * A call through the cluster with a fault in the middle of it: the caller speaks, the fault
 * strikes while the answer plays, the caller speaks again once the answer was stored, and
 * afterwards the record must match what the caller said and heard: every utterance stored once
 * and in order, every answer stored once and in order, the AIcall ended cleanly, nothing left
 * behind, each of its webhooks delivered once and in order, its usage in the ledger once.
 */
async function callThroughFault(cluster: Cluster, client: Client, webhooks: WebhookReceiver, fault: Fault, round: number): Promise<void> {
  const setup = await setUpAi(client, {
    name: `fault-${round}`,
    phrases: [...lines, 'yes', 'no'],
    flow: (aiId) => [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'hangup' }],
  });
  cluster.llm.script(setup.model, (turn) => (turn.lastUser === '' ? { text: greeting } : { text: answerTo(turn.lastUser) }));
  const call: LiveCall = await placeCall(cluster, client, setup.number, `+1555020${String(round).padStart(4, '0')}`);
  await call.waitForAnswer(greeting, 30_000);
  await call.caller.waitForSilence(15_000);
  await call.say(lines[0]!);
  await call.caller.waitForAudio(15_000);
  await fault.inject(cluster);
  // The answer is stored once it has played to the end: only then does the caller speak again.
  await call.waitForAnswer(answerTo(lines[0]!), 90_000);
  await call.caller.waitForSilence(15_000);
  await call.say(lines[1]!);
  await call.waitForAnswer(answerTo(lines[1]!), 60_000);
  call.caller.hangup();
  await expectNothingLeft(cluster, client, call);

  const messages = await call.messages();
  expect(messages.filter((message) => message.role === 'user').map((message) => message.content), 'what the caller said, stored once and in order').toEqual(lines);
  expect(messages.filter((message) => message.role === 'assistant').map((message) => message.content), 'what the AI said, stored once and in order').toEqual([
    greeting,
    ...lines.map(answerTo),
  ]);
  await expectRecordsComplete(cluster, client, webhooks, call, setup.model);
}

/** The AIcall's webhooks once each and in order, and its usage in the ledger, nothing twice. */
async function expectRecordsComplete(cluster: Cluster, client: Client, webhooks: WebhookReceiver, call: LiveCall, model: string): Promise<void> {
  const aicallId = await call.aicallId();
  await expectWebhooksOnceInOrder(webhooks, aicallId, await call.messages());
  await expectLedgerComplete(client, aicallId, cluster.llm.requests(model).length);
}


/** Faults the platform rides out today: each is run `rounds` times against one cluster on private servers. */
export function faultsSuite(title: string, telephony: TelephonyKind, faults: Fault[], rounds = 3): void {
  describeOn(telephony, `faults: calls keep every word through ${title} (three processes, private PostgreSQL + RabbitMQ)`, () => {
    const clusterOf = useCluster(`faults-${title.split(' ')[0]}`, { telephony, servers: 'private', extraEnvironment: webhooksToLoopback });
    let cluster: Cluster;
    beforeEach(() => {
      cluster = clusterOf();
    });

    for (const fault of faults) {
      it(`${fault.name}, ${rounds} times`, async () => {
        const { client, webhooks } = await customerWithWebhooks(cluster, `faults-${fault.name}`);
        for (let round = 0; round < rounds; round++) {
          await callThroughFault(cluster, client, webhooks, fault, round);
          await cluster.waitUntilReady(60_000);
        }
      }, 180_000 * rounds);
    }
  });
}

/** What the AI says as it ends the session, and what the flow says after it. */
const goodbye = 'Thank you, goodbye.';
const flowGoodbye = 'Your booking is noted.';

/**
 * A call whose AI ends the session with its stop tool (`stop_service`), the fault striking right
 * then (once the tool has run): the pipeline ends, ai-manager ends the AIcall and gives the flow
 * back, and the flow goes on with its own `talk` and hangs up, all through the fault. Afterwards
 * the record must match: the caller's words and the AI's stored once and in order, the tool
 * call and its result once, the AIcall ended once, the flow ended by its `hangup`, nothing left.
 */
async function callEndingThroughFault(cluster: Cluster, client: Client, webhooks: WebhookReceiver, fault: Fault, round: number): Promise<void> {
  const setup = await setUpAi(client, {
    name: `end-fault-${round}`,
    tools: ['stop_service'],
    phrases: [lines[0]!, 'yes', 'no'],
    flow: (aiId) => [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'talk', option: { text: flowGoodbye } }, { type: 'hangup' }],
  });
  cluster.llm.script(setup.model, (turn) => {
    if (turn.lastUser === '') return { text: greeting };
    if (turn.last?.role === 'tool') return { text: '' };
    return { text: goodbye, toolCalls: [{ name: 'stop_service', arguments: {} }] };
  });
  const call: LiveCall = await placeCall(cluster, client, setup.number, `+1555040${String(round).padStart(4, '0')}`);
  await call.waitForAnswer(greeting, 30_000);
  await call.caller.waitForSilence(15_000);
  await call.say(lines[0]!);
  await call.waitForMessage((message) => message.role === 'tool', 'the stop tool to have run', 30_000);
  await fault.inject(cluster);
  await call.caller.waitForHangup(90_000);
  await expectNothingLeft(cluster, client, call);

  const messages = await call.messages();
  expect(messages.map((message) => [message.role, message.role === 'tool' ? 'result' : message.content]), 'the conversation, stored once and in order').toEqual([
    ['assistant', greeting],
    ['user', lines[0]],
    ['assistant', goodbye],
    ['tool', 'result'],
  ]);
  expect(messages[2]!.tool_calls?.map((toolCall) => toolCall.function.name)).toEqual(['stop_service']);
  const activeflow = await client.api<{ status: string; end_reason: string }>('GET', `/v1.0/activeflows/${call.activeflowId}`);
  expect(activeflow, 'the flow went on after ai_talk and ended with its hangup').toMatchObject({ status: 'ended', end_reason: 'hangup action' });
  await expectRecordsComplete(cluster, client, webhooks, call, setup.model);
}

/** Faults that strike right as the AI ends its session: each is run `rounds` times against one cluster on private servers. */
export function endOfSessionFaultsSuite(title: string, telephony: TelephonyKind, faults: Fault[], rounds = 3): void {
  describeOn(telephony, `faults: sessions end cleanly through ${title} (three processes, private PostgreSQL + RabbitMQ)`, () => {
    const clusterOf = useCluster(`faults-end-${title.split(' ')[0]}`, { telephony, servers: 'private', extraEnvironment: webhooksToLoopback });
    let cluster: Cluster;
    beforeEach(() => {
      cluster = clusterOf();
    });

    for (const fault of faults) {
      it(`${fault.name} as the AI ends the session, ${rounds} times`, async () => {
        const { client, webhooks } = await customerWithWebhooks(cluster, `faults-end-${fault.name}`);
        for (let round = 0; round < rounds; round++) {
          await callEndingThroughFault(cluster, client, webhooks, fault, round);
          await cluster.waitUntilReady(60_000);
        }
      }, 150_000 * rounds);
    }
  });
}

/** kill -9 of one service process, started again at once. */
export function killAndRestart(processName: string): Fault {
  return {
    name: `kill -9 of ${processName}`,
    async inject(cluster) {
      const target = cluster.processes[processName]!;
      target.signal('SIGKILL');
      await target.service.exited;
      const logged = target.logText().length;
      await target.start();
      await eventually(() => target.startedSince(logged), `${processName} to start again`, 60_000, 100);
    },
  };
}

/** The cluster's PostgreSQL restarted (a clean stop and start). */
export const postgresRestart: Fault = {
  name: 'PostgreSQL restart',
  async inject(cluster) {
    await cluster.servers!.postgres.restart();
  },
};

/** The cluster's PostgreSQL away for `seconds`, then back. */
export function postgresOutage(seconds: number): Fault {
  return {
    name: `PostgreSQL away for ${seconds} s`,
    async inject(cluster) {
      await cluster.servers!.postgres.stop('immediate');
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      await cluster.servers!.postgres.start();
    },
  };
}

/** The cluster's RabbitMQ node restarted. */
export const brokerRestart: Fault = {
  name: 'RabbitMQ restart',
  async inject(cluster) {
    await cluster.servers!.rabbitmq.restart();
  },
};

/** A service process stalled (SIGSTOP) for `seconds`, then continued. */
export function stall(processName: string, seconds: number): Fault {
  return {
    name: `SIGSTOP of ${processName} for ${seconds} s`,
    async inject(cluster) {
      const target = cluster.processes[processName]!;
      target.signal('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      target.signal('SIGCONT');
    },
  };
}
