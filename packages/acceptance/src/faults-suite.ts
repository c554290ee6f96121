import type { TelephonyKind } from '@avp/asterisk-testing';
import { eventually } from '@avp/shared/testing';
import { beforeEach, expect, it } from 'vitest';
import { expectNothingLeft, placeCall, setUpAi, type LiveCall } from './calls.ts';
import type { Client, Cluster } from './cluster.ts';
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
 * behind.
 */
async function callThroughFault(cluster: Cluster, client: Client, fault: Fault, round: number): Promise<void> {
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
}

/** Faults the platform rides out today: each is run `rounds` times against one cluster on private servers. */
export function faultsSuite(title: string, telephony: TelephonyKind, faults: Fault[], rounds = 3): void {
  describeOn(telephony, `faults: calls keep every word through ${title} (three processes, private PostgreSQL + RabbitMQ)`, () => {
    const clusterOf = useCluster(`faults-${title.split(' ')[0]}`, { telephony, servers: 'private' });
    let cluster: Cluster;
    beforeEach(() => {
      cluster = clusterOf();
    });

    for (const fault of faults) {
      it(`${fault.name}, ${rounds} times`, async () => {
        const client = await cluster.newCustomer(`faults-${fault.name}`);
        for (let round = 0; round < rounds; round++) {
          await callThroughFault(cluster, client, fault, round);
          await cluster.waitUntilReady(60_000);
        }
      }, 180_000 * rounds);
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
