import { rpcCall } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { beforeEach, expect, it } from 'vitest';
import { expectNothingLeft, placeCall, setUpAi } from './calls.ts';
import type { Client, Cluster } from './cluster.ts';
import { customerWithWebhooks, expectLedgerComplete, expectWebhooksOnceInOrder, webhooksToLoopback, type WebhookReceiver } from './fault-records.ts';
import type { ServiceProcess } from './service-processes.ts';
import { acceptanceTelephony, describeOn, useCluster } from './suite.ts';

/** What the caller says (phrases the offline recogniser knows), and what the fake LLM answers. */
const lines = ['i want to book a table', 'for two people'];
const answerTo = (line: string) => `You said ${line}. Anything else?`;
const greeting = 'Hello, how can I help?';
/** ai-manager's default PIPELINE_RESUME_APOLOGY. */
const apology = 'Sorry, I missed that. Could you say it again?';
const telephony = acceptanceTelephony();

/** The pipeline-manager process that runs the AIcall's pipeline now. */
async function servingProcess(cluster: Cluster, aicallId: string): Promise<ServiceProcess> {
  let found: ServiceProcess | undefined;
  await eventually(
    async () => {
      for (const entry of Object.values(cluster.processes)) {
        if (entry.service.name !== 'pipeline-manager' || !entry.running) continue;
        const listed = await rpcCall<{ result: { aicall_id: string }[] }>(cluster.bus, 'pipeline-manager', 'GET', '/v1/pipelines', undefined, {
          instanceId: entry.service.instanceId,
          timeoutMs: 2000,
        }).catch(() => ({ result: [] }));
        if (listed.result.some((pipeline) => pipeline.aicall_id === aicallId)) found = entry;
      }
      return found !== undefined;
    },
    'the pipeline-manager serving the call',
    10_000,
    100,
  );
  return found!;
}

/**
 * Crash resumption through the whole platform: three services as processes with two
 * pipeline-managers, on PostgreSQL and RabbitMQ, with a real Asterisk when one is built. The caller speaks; while the answer plays, the pipeline-manager serving the call is
 * killed (SIGKILL). The other takes the AIcall over on the same call: the caller hears the
 * apology after a gap of about two seconds (printed), says it again and gets the answer, then
 * goes on. Afterwards the record must match the caller's: every utterance stored once and in
 * order (the one cut by the crash was never heard to its end, so it is not stored), the same
 * AIcall throughout with one `aicall_resumed`, and nothing left behind once the caller hangs up.
 */
describeOn(telephony, 'faults: a call survives kill -9 of its pipeline-manager, resumed on the other (three services, two pipeline-managers)', () => {
  // The machine's PostgreSQL and RabbitMQ: this fault touches neither (and the file stays short).
  const clusterOf = useCluster('faults-resume', { telephony, pipelineManagers: 2, extraEnvironment: webhooksToLoopback });
  let cluster: Cluster;
  beforeEach(() => {
    cluster = clusterOf();
  });

  /**
   * One call through the fault: `kill` is kill -9 (the process is started again), `stall` is
   * SIGSTOP for 5 s (the process wakes up replaced, and must stop its pipeline without a word).
   */
  async function callThroughCrash(client: Client, webhooks: WebhookReceiver, round: number, fault: 'kill' | 'stall' = 'kill'): Promise<{ gapMs: number; killToAudioMs: number }> {
    const setup = await setUpAi(client, {
      name: `resume-${round}`,
      phrases: [...lines, 'yes', 'no'],
      flow: (aiId) => [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'hangup' }],
    });
    cluster.llm.script(setup.model, (turn) => (turn.lastUser === '' ? { text: greeting } : { text: answerTo(turn.lastUser) }));
    const call = await placeCall(cluster, client, setup.number, `+1555030${String(round).padStart(4, '0')}`);
    await call.waitForAnswer(greeting, 30_000);
    await call.caller.waitForSilence(15_000);
    const aicallId = await call.aicallId();
    const serving = await servingProcess(cluster, aicallId);

    await call.say(lines[0]!);
    // The caller's words are stored and the answer plays: now its pipeline-manager dies.
    await call.waitForMessage((message) => message.role === 'user' && message.content === lines[0], 'the first utterance to be stored', 20_000);
    await call.caller.waitForAudio(15_000);
    const killedAt = call.caller.now();
    const logged = serving.logText().length;
    serving.signal(fault === 'kill' ? 'SIGKILL' : 'SIGSTOP');
    if (fault === 'kill') await serving.service.exited;
    const lastHeard = await call.caller.waitForSilence(5000);
    const resumedAt = await call.caller.waitForAudio(15_000);
    const gapMs = Math.round(resumedAt - Math.max(lastHeard, killedAt));
    const killToAudioMs = Math.round(resumedAt - killedAt);
    await call.waitForAnswer(apology, 20_000);
    if (fault === 'kill') {
      // The dead process comes back for the next round (it takes nothing back).
      await serving.start();
    } else {
      // The stalled process wakes up replaced: it stops its pipeline, and nothing it says counts.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 5000 - (call.caller.now() - killedAt))));
      serving.signal('SIGCONT');
      await eventually(
        async () => {
          const listed = await rpcCall<{ result: { aicall_id: string }[] }>(cluster.bus, 'pipeline-manager', 'GET', '/v1/pipelines', undefined, {
            instanceId: serving.service.instanceId,
            timeoutMs: 2000,
          }).catch(() => undefined);
          return listed !== undefined && !listed.result.some((pipeline) => pipeline.aicall_id === aicallId);
        },
        'the stalled process to stop its replaced pipeline',
        15_000,
        100,
      );
      // Told by ai-manager (the stop for its epoch) or found out by itself (its liveness check).
      expect(serving.logText().slice(logged)).toMatch(/superseded|another pipeline took the session over/);
    }

    await call.caller.waitForSilence(15_000);
    await call.say(lines[0]!);
    await call.waitForAnswer(answerTo(lines[0]!), 30_000);
    await call.caller.waitForSilence(15_000);
    await call.say(lines[1]!);
    await call.waitForAnswer(answerTo(lines[1]!), 30_000);
    call.caller.hangup();
    if (fault === 'kill') await eventually(() => serving.startedSince(logged), 'the killed pipeline-manager to start again', 60_000, 100);
    await expectNothingLeft(cluster, client, call);

    const messages = await call.messages();
    expect(messages.filter((message) => message.role === 'user').map((message) => message.content), 'what the caller said, stored once and in order').toEqual([
      lines[0],
      lines[0],
      lines[1],
    ]);
    expect(messages.filter((message) => message.role === 'assistant').map((message) => message.content), 'what the caller heard to its end, stored once and in order').toEqual([
      greeting,
      apology,
      ...lines.map(answerTo),
    ]);
    expect(messages.filter((message) => message.role === 'notification').map((message) => message.content)).toEqual([expect.stringContaining('The session resumed')]);
    const aicall = await client.api<{ id: string; status: string }>('GET', `/v1.0/aicalls/${aicallId}`);
    expect(aicall).toMatchObject({ id: aicallId, status: 'terminated' });
    // One media leg at a time: the dead pipeline's was replaced, never two in the call's bridge.
    expect(call.mediaChannels.size).toBe(2);
    await expectWebhooksOnceInOrder(webhooks, aicallId, messages);
    expect(webhooks.deliveries.filter((delivery) => delivery.type === 'aicall_resumed' && delivery.data.id === aicallId).length, 'one aicall_resumed webhook').toBe(1);
    // The killed process's unsent usage (an in-memory buffer) may be lost: LLM requests are not counted.
    await expectLedgerComplete(client, aicallId, fault === 'kill' ? undefined : cluster.llm.requests(setup.model).length);
    return { gapMs, killToAudioMs };
  }

  it('kill -9 of the serving pipeline-manager mid-answer, 3 times: the other takes the call over and the conversation goes on', async () => {
    const { client, webhooks } = await customerWithWebhooks(cluster, 'faults-resume');
    const gaps: { gapMs: number; killToAudioMs: number }[] = [];
    for (let round = 0; round < 3; round++) {
      gaps.push(await callThroughCrash(client, webhooks, round));
      await cluster.waitUntilReady(60_000);
    }
    console.log(
      `crash resumption [${telephony}]: caller's gap (last audio heard -> the apology) ${gaps.map((gap) => gap.gapMs).join(', ')} ms; kill -> first audio ${gaps.map((gap) => gap.killToAudioMs).join(', ')} ms`,
    );
  }, 180_000);

  it('SIGSTOP of the serving pipeline-manager mid-answer for 5 s: the other takes the call over, the stalled one wakes up replaced and says nothing', async () => {
    const { client, webhooks } = await customerWithWebhooks(cluster, 'faults-resume-stall');
    const gap = await callThroughCrash(client, webhooks, 10, 'stall');
    console.log(`crash resumption after a stall [${telephony}]: caller's gap ${gap.gapMs} ms; stop -> first audio ${gap.killToAudioMs} ms`);
  }, 90_000);
});
