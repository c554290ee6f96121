import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startFakeWebSocketServer, type FakeWebSocketServer } from '@avp/pipeline-manager/vendor-websocket-fakes';
import { rpcCall } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { aiTalkActions, describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A long greeting, so the pipeline-manager process dies while the AI is still speaking. */
const script = {
  script: [
    {
      say: 'Hello, this is the offline assistant. Thank you for calling. I will tell you a little about what I can do for you today, so please listen carefully until I have finished.',
    },
    { wait: 'answer', into: 'name' },
    { say: 'Goodbye, ${name}.' },
    { end: true },
  ],
};

/**
 * A pipeline-manager process killed (SIGKILL) in the middle of a voice AI call: ai-manager
 * and flow-manager run in this process on PostgreSQL and RabbitMQ, pipeline-manager runs as
 * its own process (its standalone entry point) on the same database and broker namespace,
 * with the offline scripted LLM and espeak-ng; Deepgram is a local socket that never
 * transcribes (the greeting needs no STT). Once the watchdog's grace period (10 s, which a
 * broker restart needs) has passed after the kill, the AIcall is terminated, the AI's media
 * leg is gone from the call, and the flow goes on after `ai_talk`.
 */
await describeModes(
  'a pipeline-manager process killed mid-call',
  (mode) => {
    let deepgram: FakeWebSocketServer;
    let child: ChildProcess | undefined;
    let childExited: Promise<void> = Promise.resolve();
    const childOutput: string[] = [];
    const pipelineInstance = `pipeline-crash-${randomUUID().slice(0, 8)}`;

    const stack = useStack({
      mode,
      name: 'crash',
      // The production defaults: a check every 2 s, lost after 10 s of failed checks.
      aiManager: { pipelineWatchdog: { intervalMs: 2000, lostAfterMs: 10_000 } },
      pipelineManager: false,
    });
    const api: Api = (...args) => stack.api(...args);

    beforeAll(async () => {
      deepgram = await startFakeWebSocketServer();
      const cluster = stack.cluster!;
      // pipeline-manager on its own, as deployed: `node --import tsx services/pipeline-manager/src/main.ts`.
      child = spawn(process.execPath, ['--import', 'tsx', 'services/pipeline-manager/src/main.ts'], {
        cwd: repositoryRoot,
        env: {
          ...process.env,
          DATABASE_URL: cluster.databaseUrl,
          RABBITMQ_URL: cluster.rabbitmqUrl,
          BUS_NAMESPACE: cluster.namespace,
          INSTANCE_ID: pipelineInstance,
          PORT: '0',
          HOST: '127.0.0.1',
          RTP_ADDRESS: '127.0.0.1',
          VAD_ENGINE: 'energy',
          DEEPGRAM_API_KEY: 'test-key',
          DEEPGRAM_BASE_URL: deepgram.httpUrl,
          LOG_LEVEL: 'info',
          LOG_FORMAT: 'json',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (chunk: Buffer) => childOutput.push(chunk.toString('utf8')));
      child.stderr?.on('data', (chunk: Buffer) => childOutput.push(chunk.toString('utf8')));
      const running = child;
      childExited = new Promise((resolve) => running.once('exit', () => resolve()));
      let exited = false;
      void childExited.then(() => (exited = true));
      await eventually(
        async () => {
          if (exited) throw new Error(`pipeline-manager exited at start:\n${childOutput.join('')}`);
          return rpcCall(stack.bus, 'pipeline-manager', 'GET', '/v1/ping', undefined, { instanceId: pipelineInstance, timeoutMs: 1000 }).then(
            () => true,
            () => false,
          );
        },
        'the pipeline-manager process to serve its queue',
        60_000,
        200,
      );
    }, 120_000);

    afterAll(async () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await childExited;
      await deepgram?.close();
    });

    it('ends the AIcall, removes the media leg and goes on with the flow after the grace period', async () => {
      const ai = await api('POST', '/v1.0/ais', scriptedAi(script));
      const number = await stack.numberWithFlow(aiTalkActions(ai.id, 'back in the flow'));

      const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558881234' });
      try {
        await caller.waitForAudio(30_000); // The greeting, spoken by espeak-ng in the other process.
      } catch (error) {
        throw new Error(`no greeting: ${(error as Error).message}\n${childOutput.join('')}`, { cause: error });
      }
      const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
      const activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)!.activeflow_id;
      const aicalls = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string }[] };
      const aicallId = aicalls.result.find((entry) => entry.activeflow_id === activeflowId)!.id;
      // ai-manager stored which process runs the pipeline (not only in its memory).
      await eventually(async () => {
        const row = await stack.database
          .forSchema<{ aicalls: { id: string; pipeline_instance_id: string | null } }>('ai_manager')
          .selectFrom('aicalls')
          .select('pipeline_instance_id')
          .where('id', '=', aicallId)
          .executeTakeFirst();
        return row?.pipeline_instance_id === pipelineInstance;
      }, 'the pipeline instance to be stored');
      expect((await api('GET', `/v1.0/aicalls/${aicallId}`)).status).toBe('progressing');
      // What the watchdog asks the process: the pipelines it runs.
      const listed = await rpcCall<{ instance_id: string; result: { aicall_id: string }[] }>(stack.bus, 'pipeline-manager', 'GET', '/v1/pipelines', undefined, {
        instanceId: pipelineInstance,
      });
      expect(listed).toMatchObject({ instance_id: pipelineInstance, result: [expect.objectContaining({ aicall_id: aicallId })] });
      expect(stack.simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP'))).toBe(true);

      // The greeting (about ten seconds of speech) is still being spoken.
      const killedAt = Date.now();
      const killedAtCallTime = caller.now();
      child!.kill('SIGKILL');
      await childExited;

      await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 30_000, 100);
      const endedAfterMs = Date.now() - killedAt;
      const aicall = await api('GET', `/v1.0/aicalls/${aicallId}`);
      expect(aicall.tm_end).toEqual(expect.any(String));
      const stored = (await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}`)) as { result: { role: string; content: string }[] };
      expect(stored.result.find((message) => message.role === 'notification')?.content).toContain('the voice pipeline stopped unexpectedly');
      await eventually(() => !stack.simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP')), 'the media leg to go', 5000, 50);

      // The flow went on after ai_talk: the caller hears the talk, then the flow hangs up.
      await caller.waitForHangup(30_000);
      await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
      expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
      const heardAfterKill = caller.heardSegments.filter((segment) => segment.startMs > killedAtCallTime);
      expect(heardAfterKill.length).toBeGreaterThan(0);
      // One failed check is no evidence: detection takes the grace period (10 s), at most one more
      // check interval (2 s) and the check itself.
      expect(endedAfterMs).toBeGreaterThanOrEqual(10_000);
      expect(endedAfterMs).toBeLessThan(14_000);
    }, 120_000);
  },
  ['cluster'], // A killed process needs the broker: in one process there is nothing to kill.
);
