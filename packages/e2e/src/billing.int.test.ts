import { registryProviders } from '@avp/pipeline-manager';
import { appError, type Bus, type EventEnvelope, type RpcRequest } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { beforeAll, expect, it } from 'vitest';
import { aiTalkActions, askNameScript, describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

const goodbye = 'Your balance has run out. Goodbye.';

/** A second of tone: the loudness VAD hears speech, the STT double answers "Ada". */
const tone = () => Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000)));

interface LedgerEntry {
  kind: string;
  usage_id: string | null;
  aicall_id: string | null;
  usage_kind: string;
  amount: number;
  balance_after: number;
}

/**
 * Billing across the three services: accounts start at zero here (BILLING_INITIAL_BALANCE=0)
 * and the offline engines are priced (1 unit per 1000 characters spoken), so a real session
 * charges its account. The pipeline's bus loses the first reply to every usage report, so
 * each usage is sent twice with the same id: it must be charged once.
 */
/**
 * pipeline-manager's view of the bus: the first reply to each usage report is lost (after
 * ai-manager has recorded it), as when a reply times out; the pipeline retries it.
 */
function losingFirstUsageReplies(bus: Bus, usageAttempts: Map<string, number>): Bus {
  return new Proxy(bus, {
    get(target, property, receiver) {
      if (property === 'request') {
        return async (service: string, request: RpcRequest, options?: Parameters<Bus['request']>[2]) => {
          const reply = await target.request(service, request, options);
          if (service === 'ai-manager' && request.uri === '/v1/usages') {
            const id = (request.data as { id: string }).id;
            const attempts = (usageAttempts.get(id) ?? 0) + 1;
            usageAttempts.set(id, attempts);
            if (attempts === 1) throw appError('RPC_TIMEOUT', 'The reply was lost (test).');
          }
          return reply;
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

await describeModes('billing in voice AI sessions, across the three services', (mode) => {
  const usageAttempts = new Map<string, number>();
  const pipelineEvents: EventEnvelope[] = [];
  const stack = useStack({
    mode,
    name: 'billing',
    aiManager: {
      billing: {
        initialBalance: 0,
        goodbyeText: goodbye,
        rates: {
          default: { llm_input_per_1m_tokens: 1, llm_output_per_1m_tokens: 4, tts_per_1k_characters: 0.1, stt_per_minute: 0.01 },
          local: { llm_input_per_1m_tokens: 0, llm_output_per_1m_tokens: 0, tts_per_1k_characters: 1, stt_per_minute: 0 },
        },
      },
    },
    pipelineManager: { createVad: async () => loudnessVad(), providers: { ...registryProviders, stt: () => scriptedStt(['Ada']) } },
    busFor: (service, bus) => (service === 'pipeline-manager' ? losingFirstUsageReplies(bus, usageAttempts) : bus),
  });

  beforeAll(async () => {
    await stack.bus.subscribe('pipeline-manager', ['pipeline_terminated'], async (event) => void pipelineEvents.push(event), { queue: 'e2e-billing-pipeline-events' });
  });

  async function request(method: 'GET' | 'POST', url: string, authorization: string, body?: unknown) {
    return stack.request(method, url, { authorization, body });
  }

  /** A customer whose account holds `balance` micro-units, with an AI and a flow `answer, ai_talk, talk, hangup` on a number. */
  async function customerWithFlow(name: string, balance: number) {
    const key = await stack.createCustomer(name);
    const api = stack.apiAs(key);
    const account = ((await api('GET', '/v1.0/billing-accounts')).result as { id: string; balance: number }[])[0]!;
    expect(account.balance).toBe(0);
    if (balance > 0) {
      expect((await request('POST', `/v1.0/billing-accounts/${account.id}/balance_add`, stack.adminToken, { amount: balance })).status).toBe(200);
    }
    const ai = await api('POST', '/v1.0/ais', scriptedAi(askNameScript));
    const number = await stack.numberWithFlow(aiTalkActions(ai.id, 'You are back in the flow.'), api);
    const ledger = async () => ((await api('GET', `/v1.0/billing-accounts/${account.id}/ledger`)).result as LedgerEntry[]).reverse();
    const balanceNow = async () => ((await api('GET', `/v1.0/billing-accounts/${account.id}`)) as { balance: number }).balance;
    return { key, api, number, accountId: account.id, ledger, balanceNow };
  }

  async function activeflowOf(api: Api, channelId: string): Promise<string> {
    let activeflowId: string | undefined;
    await eventually(async () => {
      const calls = (await api('GET', '/v1.0/calls')).result as { channel_id: string; activeflow_id: string }[];
      activeflowId = calls.find((entry) => entry.channel_id === channelId)?.activeflow_id;
      return activeflowId !== undefined;
    }, 'the call');
    return activeflowId!;
  }

  it('at zero balance, ai_talk starts nothing and the flow goes on after it', async () => {
    const { key, api, number } = await customerWithFlow('broke', 0);
    const ai = ((await api('GET', '/v1.0/ais')).result as { id: string }[])[0]!;
    const refused = await request('POST', '/v1.0/aicalls', key, { assistance_type: 'ai', assistance_id: ai.id });
    expect(refused.status).toBe(402);
    expect(refused.body.error).toMatchObject({ status: 'PAYMENT_REQUIRED', reason: 'INSUFFICIENT_BALANCE' });

    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558881000' });
    await caller.waitForAudio(20_000); // The flow's talk action, not an AI greeting.
    await caller.waitForHangup(30_000);
    const activeflowId = await activeflowOf(api, caller.id);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
    const aicalls = (await api('GET', '/v1.0/aicalls')).result as { id: string; status: string; activeflow_id: string }[];
    expect(aicalls).toHaveLength(1);
    expect(aicalls[0]).toMatchObject({ status: 'terminated', activeflow_id: activeflowId });
    const messages = (await api('GET', `/v1.0/aimessages?aicall_id=${aicalls[0]!.id}`)).result as { role: string; content: string }[];
    expect(messages).toEqual([expect.objectContaining({ role: 'notification', content: expect.stringContaining('balance') })]);
    expect(stack.pipelineManager.sessions.size).toBe(0);
  }, 90_000);

  it("charges a real session's usage once per usage event, though every report is sent twice", async () => {
    const { api, number, ledger, balanceNow } = await customerWithFlow('paying', 5_000_000);
    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558881001' });
    await caller.waitForAudio(20_000);
    await caller.waitForSilence(20_000);
    const aicall = ((await api('GET', '/v1.0/aicalls')).result as { id: string }[])[0]!;
    const messages = async () => (await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)).result as { role: string; content: string }[];
    await eventually(async () => (await messages()).some((message) => message.role === 'assistant'), 'the greeting to be stored', 20_000);
    await caller.play(tone());
    await eventually(async () => (await messages()).some((message) => message.content.startsWith('Nice to meet you, Ada')), 'the answer', 30_000);
    caller.hangup();
    await eventually(() => pipelineEvents.some((event) => (event.data as { aicall_id: string }).aicall_id === aicall.id), 'the pipeline to end', 30_000);

    const usages = (await ledger()).filter((entry) => entry.kind === 'usage');
    const spoken = usages.filter((entry) => entry.usage_kind === 'tts');
    // Each sentence spoken was charged at 1 unit per 1000 characters, once.
    expect(spoken.map((entry) => entry.amount)).toEqual(
      ['Hello, this is the offline assistant.', 'What is your name?', 'Nice to meet you, Ada.', 'Goodbye.'].map((text) => -text.length * 1000),
    );
    expect(usages.every((entry) => entry.aicall_id === aicall.id)).toBe(true);
    // Every usage report went out twice (the first reply was lost) and made one entry.
    const ids = usages.map((entry) => entry.usage_id!);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(usageAttempts.get(id)).toBe(2);
    const charged = usages.reduce((sum, entry) => sum - entry.amount, 0);
    expect(await balanceNow()).toBe(5_000_000 - charged);
    expect((await api('GET', `/v1.0/aicalls/${aicall.id}`)).cost).toBe(charged);
  }, 120_000);

  it('a session whose balance runs out says goodbye and ends with stop_service: the flow goes on', async () => {
    // Enough to start (the minimum is 0.01), not enough for the greeting's first sentence.
    const { api, number, balanceNow } = await customerWithFlow('nearly broke', 20_000);
    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558881002' });
    await caller.waitForAudio(20_000);
    await caller.waitForHangup(60_000); // Goodbye, then the flow's talk and hangup.
    const activeflowId = await activeflowOf(api, caller.id);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });

    const aicall = ((await api('GET', '/v1.0/aicalls')).result as { id: string }[])[0]!;
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'terminated', 'the AIcall to end');
    const terminatedEvent = () => pipelineEvents.find((event) => (event.data as { aicall_id: string }).aicall_id === aicall.id);
    await eventually(() => terminatedEvent() !== undefined, 'the pipeline_terminated event'); // over RabbitMQ it may come after the AIcall's end
    expect(terminatedEvent()?.data).toMatchObject({ reason: 'stop_service' });
    const messages = ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)).result as { role: string; content: string }[]).reverse();
    expect(messages.filter((message) => message.role === 'notification').map((message) => message.content)).toEqual([
      'The session ends: the billing account balance ran out.',
    ]);
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: goodbye });
    expect(await balanceNow()).toBeLessThan(0);
    expect(stack.pipelineManager.sessions.size).toBe(0);
  }, 120_000);
});
