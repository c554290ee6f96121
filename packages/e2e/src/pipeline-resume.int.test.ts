import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { resampleClip, rpcCall, synthesizeWithEspeak } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { aiTalkActions, describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Repeats what the caller says (the offline recogniser knows the phrases), until goodbye. */
const script = {
  script: [
    { say: 'Hello, this is the booking line. What would you like?' },
    { label: 'listen' },
    { wait: 'answer' },
    { goto: 'bye', if: { variable: 'last_answer', matches: '\\bgoodbye\\b' } },
    { say: 'You said ${last_answer}. I am writing that down for you now, so please hold on for a moment while I do.' },
    { goto: 'listen' },
    { label: 'bye' },
    { say: 'Goodbye.' },
    { end: true },
  ],
};
const phrases = ['i want to book a table', 'for two people', 'goodbye'];
const apology = 'Sorry, I missed that. Could you say it again?';

/** A phrase as the caller says it: espeak-ng speech at 16 kHz. */
async function speech(phrase: string): Promise<Int16Array> {
  return (await resampleClip(await synthesizeWithEspeak(phrase, { voice: 'en-us', wordsPerMinute: 150 }), 16_000)).samples;
}

interface PipelineProcess {
  instanceId: string;
  child: ChildProcess;
  exited: Promise<void>;
  output: string[];
}

/**
 * Crash resumption end to end: ai-manager and flow-manager in this process on PostgreSQL and
 * RabbitMQ with the Asterisk simulator, two pipeline-manager processes of their own (as deployed)
 * with the offline engines (scripted dialogue, espeak-ng, pocketsphinx). The caller speaks; while
 * the AI answers, the pipeline-manager serving the call is killed (SIGKILL). The other one takes
 * the AIcall over on a new media leg in the same call: the caller hears the apology (the gap is
 * printed), says it again, gets the answer, and ends the call by saying goodbye; the flow goes on.
 */
await describeModes(
  'a pipeline-manager process killed mid-call with another one running',
  (mode) => {
    const processes: PipelineProcess[] = [];
    const stack = useStack({ mode, name: 'resume', pipelineManager: false });
    const api: Api = (...args) => stack.api(...args);

    function spawnPipelineManager(): PipelineProcess {
      const cluster = stack.cluster!;
      const instanceId = `pipeline-resume-${randomUUID().slice(0, 8)}`;
      const child = spawn(process.execPath, ['--import', 'tsx', 'services/pipeline-manager/src/main.ts'], {
        cwd: repositoryRoot,
        env: {
          ...process.env,
          DATABASE_URL: cluster.databaseUrl,
          RABBITMQ_URL: cluster.rabbitmqUrl,
          BUS_NAMESPACE: cluster.namespace,
          INSTANCE_ID: instanceId,
          PORT: '0',
          HOST: '127.0.0.1',
          RTP_ADDRESS: '127.0.0.1',
          VAD_ENGINE: 'energy',
          LOG_LEVEL: 'info',
          LOG_FORMAT: 'json',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output: string[] = [];
      child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
      child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      return { instanceId, child, exited, output };
    }

    const ping = (instanceId: string) =>
      rpcCall(stack.bus, 'pipeline-manager', 'GET', '/v1/ping', undefined, { instanceId, timeoutMs: 1000 }).then(
        () => true,
        () => false,
      );

    beforeAll(async () => {
      processes.push(spawnPipelineManager(), spawnPipelineManager());
      for (const entry of processes) {
        await eventually(
          async () => {
            if (entry.child.exitCode !== null) throw new Error(`pipeline-manager exited at start:\n${entry.output.join('')}`);
            return ping(entry.instanceId);
          },
          'the pipeline-manager processes to serve their queues',
          60_000,
          200,
        );
      }
      // ai-manager hears both processes' heartbeats (250 ms apart) before the call.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }, 120_000);

    afterAll(async () => {
      for (const entry of processes) {
        if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill('SIGKILL');
        await entry.exited;
      }
    });

    it('goes on with the conversation on the other process: apology, the caller says it again, gets the answer, the same AIcall throughout', async () => {
      const ai = await api('POST', '/v1.0/ais', scriptedAi(script, { stt_type: 'local', parameter: { stt_phrases: phrases }, tool_names: ['stop_service'] }));
      const number = await stack.numberWithFlow(aiTalkActions(ai.id, 'back in the flow'));
      const [booking, again, goodbye] = await Promise.all(phrases.map(speech));

      const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558884321' });
      await caller.waitForAudio(30_000);
      const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
      const activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)!.activeflow_id;
      const aicalls = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string }[] };
      const aicallId = aicalls.result.find((entry) => entry.activeflow_id === activeflowId)!.id;
      const messages = async () =>
        ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)) as { result: { role: string; content: string }[] }).result
          .filter((message) => message.role !== 'system')
          .reverse();
      const aicallRow = () =>
        stack.database
          .forSchema<{ aicalls: { id: string; pipeline_instance_id: string | null; pipeline_epoch: number } }>('ai_manager')
          .selectFrom('aicalls')
          .select(['pipeline_instance_id', 'pipeline_epoch'])
          .where('id', '=', aicallId)
          .executeTakeFirstOrThrow();
      // The greeting is stored once it has played to its end: the caller speaks after it.
      await eventually(async () => (await messages()).some((message) => message.role === 'assistant'), 'the greeting', 30_000, 100);
      await caller.waitForSilence(15_000);
      const servingId = (await aicallRow()).pipeline_instance_id;
      const victim = processes.find((entry) => entry.instanceId === servingId)!;
      const survivor = processes.find((entry) => entry !== victim)!;
      expect(victim).toBeDefined();

      // The caller speaks; once its words are stored and the answer plays, the serving process dies.
      await caller.play(booking!);
      await eventually(async () => (await messages()).some((message) => message.role === 'user'), 'the first utterance to be stored', 20_000, 100);
      await caller.waitForAudio(15_000);
      const killedAt = caller.now();
      victim.child.kill('SIGKILL');
      await victim.exited;
      const lastHeard = await caller.waitForSilence(5000);
      const resumedAt = await caller.waitForAudio(15_000);
      const gapMs = Math.round(resumedAt - Math.max(lastHeard, killedAt));
      console.log(`crash resumption [simulator]: the caller heard nothing for ${gapMs} ms; first audio ${Math.round(resumedAt - killedAt)} ms after the kill`);
      await eventually(async () => (await messages()).some((message) => message.role === 'assistant' && message.content === apology), 'the apology', 15_000, 100);
      expect(await aicallRow()).toEqual({ pipeline_instance_id: survivor.instanceId, pipeline_epoch: 1 });
      expect((await api('GET', `/v1.0/aicalls/${aicallId}`)).status).toBe('progressing');
      // One media leg in the call: the dead process's was replaced.
      expect(stack.simulator.channels().filter((channel) => channel.name.startsWith('UnicastRTP'))).toHaveLength(1);

      // The conversation goes on with the other process: the caller says it again and is answered.
      await caller.waitForSilence(15_000);
      await caller.play(booking!);
      await eventually(async () => (await messages()).filter((message) => message.role === 'assistant' && message.content !== '').length === 3, 'the answer', 20_000, 100);
      await caller.waitForSilence(15_000);
      await caller.play(again!);
      await eventually(async () => (await messages()).filter((message) => message.role === 'assistant' && message.content !== '').length === 4, 'the second answer', 20_000, 100);
      await caller.waitForSilence(15_000);
      await caller.play(goodbye!);

      // The AI ends the session; the flow goes on after ai_talk and hangs up.
      await caller.waitForHangup(30_000);
      await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end');
      await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
      expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
      await eventually(() => !stack.simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP')), 'the media leg to go', 5000, 50);
      const listed = await rpcCall<{ result: unknown[] }>(stack.bus, 'pipeline-manager', 'GET', '/v1/pipelines', undefined, { instanceId: survivor.instanceId });
      expect(listed.result).toEqual([]);

      const stored = await messages();
      expect(stored.filter((message) => message.role === 'user').map((message) => message.content)).toEqual([phrases[0], phrases[0], phrases[1], phrases[2]]);
      const said = stored.filter((message) => message.role === 'assistant' && message.content !== '').map((message) => message.content);
      expect(said[0]).toBe('Hello, this is the booking line. What would you like?');
      expect(said[1]).toBe(apology);
      expect(said[2]).toContain(`You said ${phrases[0]}.`);
      expect(said[3]).toContain(`You said ${phrases[1]}.`);
      expect(said.at(-1)).toBe('Goodbye.');
      expect(stored.filter((message) => message.role === 'notification').map((message) => message.content)).toEqual([expect.stringContaining('The session resumed')]);
    }, 150_000);
  },
  ['cluster'], // A killed process needs the broker: in one process there is nothing to kill.
);
