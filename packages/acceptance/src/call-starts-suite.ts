import type { TelephonyKind } from '@avp/asterisk-testing';
import { eventually } from '@avp/shared/testing';
import { beforeEach, expect, it } from 'vitest';
import { mediaLegChannelsOf, placeCall, setUpAi } from './calls.ts';
import type { Cluster } from './cluster.ts';
import { describeOn, useCluster } from './suite.ts';

/** Calls in a row: the real Asterisk once failed to start a third of AI sessions. */
const callCount = Number(process.env.ACCEPTANCE_CALLS_IN_A_ROW ?? 50);

/**
 * `ai_talk` starts every time: calls placed one after another, half of them on an AI whose
 * media goes over RTP and half over Asterisk's WebSocket media channel; each caller must hear
 * the greeting, and no AIcall may record that its session could not start.
 */
export function callStartsSuite(telephony: TelephonyKind): void {
  describeOn(telephony, `acceptance: ${callCount} calls in a row, every AI session starts (three processes, PostgreSQL + RabbitMQ)`, () => {
    const clusterOf = useCluster('starts', { telephony });
    let cluster: Cluster;
    beforeEach(() => {
      cluster = clusterOf();
    });

    it('greets every caller, over RTP and over WebSocket media alike', async () => {
      const client = await cluster.newCustomer('starts');
      const flow = (aiId: string) => [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'hangup' }];
      const setups = await Promise.all(
        (['rtp', 'websocket'] as const).map(async (transport) => {
          const setup = await setUpAi(client, { name: `starts-${transport}`, flow, ai: { media_transport: transport } });
          cluster.llm.script(setup.model, () => ({ text: 'Hi.' }));
          return { ...setup, transport };
        }),
      );
      const outcomes: { transport: string; greetedMs: number | undefined; legs: string[] }[] = [];
      for (let index = 0; index < callCount; index++) {
        const setup = setups[index % setups.length]!;
        const call = await placeCall(cluster, client, setup.number, `+1555010${String(index).padStart(4, '0')}`);
        const startedAt = call.caller.now();
        const greetedMs = await call.caller.waitForAudio(15_000).then(
          (at) => at - startedAt,
          () => undefined,
        );
        // The leg the greeting came over: UnicastRTP/... or WebSocket/...
        const legs = (await mediaLegChannelsOf(cluster, call.caller.id)).map((channel) => channel.name.split('/')[0]!);
        outcomes.push({ transport: setup.transport, greetedMs, legs });
        call.caller.hangup();
        await call.caller.waitForHangup(5000);
      }
      const failed = outcomes.filter((outcome) => outcome.greetedMs === undefined);
      expect(failed, 'calls whose caller never heard the greeting').toEqual([]);
      for (const outcome of outcomes) expect(outcome.legs).toEqual([outcome.transport === 'rtp' ? 'UnicastRTP' : 'WebSocket']);

      await eventually(
        async () => (await client.api<{ result: { status: string }[] }>('GET', '/v1.0/aicalls?page_size=100')).result.every((aicall) => aicall.status === 'terminated'),
        'every AIcall to end',
        30_000,
        200,
      );
      const aicalls = (await client.api<{ result: { id: string; status: string }[] }>('GET', '/v1.0/aicalls?page_size=100')).result;
      expect(aicalls).toHaveLength(callCount);
      for (const aicall of aicalls) {
        const notes = (await client.api<{ result: { role: string; content: string }[] }>('GET', `/v1.0/aimessages?aicall_id=${aicall.id}&page_size=100`)).result.filter(
          (message) => message.role === 'notification',
        );
        expect(notes.map((note) => note.content).filter((content) => content.includes('could not start'))).toEqual([]);
      }
      const byTransport = (transport: string) => outcomes.filter((outcome) => outcome.transport === transport).map((outcome) => outcome.greetedMs!);
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
      console.info(`calls in a row [${telephony}]: ${callCount} started; answer to greeting heard, median rtp ${median(byTransport('rtp'))} ms, websocket ${median(byTransport('websocket'))} ms`);
      expect(await cluster.pipelines()).toEqual([]);
    }, 600_000);
  });
}
