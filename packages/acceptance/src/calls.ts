import type { Caller } from '@avp/asterisk-simulator';
import { resampleClip, synthesizeWithEspeak } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import type { Client, Cluster } from './cluster.ts';

const spoken = new Map<string, Promise<Int16Array>>();

/** A phrase as the caller says it: espeak-ng speech at 16 kHz (cached per phrase and voice). */
export function speech(phrase: string, voice = 'en-us'): Promise<Int16Array> {
  const key = `${voice}|${phrase}`;
  let audio = spoken.get(key);
  if (!audio) {
    audio = synthesizeWithEspeak(phrase, { voice, wordsPerMinute: 150 }).then(async (pcm) => (await resampleClip(pcm, 16_000)).samples);
    spoken.set(key, audio);
  }
  return audio;
}

export interface StoredMessage {
  id: string;
  role: string;
  content: string;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

export interface AiSetup {
  /** The fake LLM's model for this AI (engine_model `openai.<model>`). */
  model: string;
  aiId: string;
  flowId: string;
  number: string;
}

let sequence = 0;

/**
 * Through the public API: an AI on the fake LLM (its own model name), a flow built around
 * it and a number bound to the flow.
 */
export async function setUpAi(
  client: Client,
  options: {
    name: string;
    tools?: string[];
    phrases?: string[];
    flow: (aiId: string) => Record<string, unknown>[];
    engineKey?: string;
    ai?: Record<string, unknown>;
  },
): Promise<AiSetup> {
  const model = `acc-${options.name}-${process.pid}-${++sequence}`;
  const ai = await client.api<{ id: string }>('POST', '/v1.0/ais', {
    name: options.name,
    engine_model: `openai.${model}`,
    ...(options.engineKey ? { engine_key: options.engineKey } : {}),
    init_prompt: `You are the ${options.name} assistant.`,
    tts_type: 'local',
    stt_type: 'local',
    stt_language: 'en-US',
    tool_names: options.tools ?? [],
    parameter: { stt_phrases: options.phrases ?? ['yes', 'no'] },
    ...options.ai,
  });
  const flow = await client.api<{ id: string }>('POST', '/v1.0/flows', { name: options.name, actions: options.flow(ai.id) });
  const number = `+1555${String(Date.now()).slice(-5)}${String(++sequence).padStart(3, '0')}`;
  await client.api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
  return { model, aiId: ai.id, flowId: flow.id, number };
}

/** A call in progress and the records the platform keeps about it. */
export interface LiveCall {
  caller: Caller;
  /** Ids of the bridges that held the caller, and of the external media channels in them, while the call lived. */
  bridges: Set<string>;
  mediaChannels: Set<string>;
  activeflowId: string;
  /** Resolves once the AIcall exists. */
  aicallId(): Promise<string>;
  /** The AIcall's stored messages, oldest first (system prompts left out). */
  messages(): Promise<StoredMessage[]>;
  /** Waits until a stored message matches. */
  waitForMessage(predicate: (message: StoredMessage) => boolean, what: string, timeoutMs?: number): Promise<StoredMessage>;
  /** Waits until an assistant message with this exact text is stored, i.e. it was played to the end. */
  waitForAnswer(text: string, timeoutMs?: number): Promise<StoredMessage>;
  /** Speaks a phrase at real-time pace. */
  say(phrase: string): Promise<void>;
}

const placed = new Set<Caller>();

/** Hangs up the calls a test left up (a failed test), so the next one starts clean. */
export async function hangUpLeftovers(cluster: Cluster): Promise<void> {
  for (const caller of placed) if (!caller.ended) caller.hangup();
  placed.clear();
  await eventually(async () => !(await cluster.telephony.channels()).some((channel) => isMediaChannel(channel.name)), 'leftover media channels to go', 20_000, 100).catch(
    () => undefined,
  );
}

/** An external media channel (the platform's leg to a pipeline). */
export function isMediaChannel(name: string): boolean {
  return name.startsWith('UnicastRTP') || name.startsWith('WebSocket/');
}

/** The external media channels bridged with a caller now (their ids). */
export async function mediaLegsOf(cluster: Cluster, callerId: string): Promise<string[]> {
  return (await mediaLegChannelsOf(cluster, callerId)).map((channel) => channel.id);
}

/** The external media channels bridged with a caller now. */
export async function mediaLegChannelsOf(cluster: Cluster, callerId: string): Promise<{ id: string; name: string }[]> {
  const channels = new Map((await cluster.telephony.channels()).map((channel) => [channel.id, channel]));
  return (await cluster.telephony.bridges())
    .filter((bridge) => bridge.channels.includes(callerId))
    .flatMap((bridge) => bridge.channels)
    .flatMap((id) => {
      const channel = channels.get(id);
      return channel && isMediaChannel(channel.name) ? [{ id, name: channel.name }] : [];
    });
}

interface WatchedCall {
  caller: Caller;
  bridges: Set<string>;
  mediaChannels: Set<string>;
}

/** Per cluster, the live calls whose use of Asterisk one shared loop samples. */
const watched = new WeakMap<Cluster, Set<WatchedCall>>();

/**
 * Records, every 50 ms while the call lives, the bridges that hold its caller and the external
 * media channels in them. One loop per cluster reads Asterisk's channels and bridges once for
 * every live call: a loop per call made twenty calls ask 800 times a second, which stalled this
 * process and Asterisk, and the callers' audio reached the platform in bursts.
 */
function watchAsteriskUse(cluster: Cluster, call: WatchedCall): void {
  let calls = watched.get(cluster);
  if (calls) {
    calls.add(call);
    return;
  }
  calls = new Set([call]);
  watched.set(cluster, calls);
  const live = calls;
  void (async () => {
    while (live.size > 0) {
      const started = Date.now();
      try {
        const names = new Map((await cluster.telephony.channels()).map((channel) => [channel.id, channel.name]));
        const current = await cluster.telephony.bridges();
        for (const entry of live) {
          for (const bridge of current) {
            if (!bridge.channels.includes(entry.caller.id)) continue;
            entry.bridges.add(bridge.id);
            for (const id of bridge.channels) if (isMediaChannel(names.get(id) ?? '')) entry.mediaChannels.add(id);
          }
        }
      } catch {
        // Asterisk restarting (a fault test): the next round samples again.
      }
      for (const entry of live) if (entry.caller.ended) live.delete(entry);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 50 - (Date.now() - started))));
    }
    watched.delete(cluster);
  })();
}

/** Places a call to `number` (from a scripted caller) and finds its activeflow. */
export async function placeCall(cluster: Cluster, client: Client, number: string, callerNumber = '+15550001111'): Promise<LiveCall> {
  const caller = cluster.telephony.placeCall({ extension: number, callerNumber });
  placed.add(caller);
  // What the call used in Asterisk, sampled while it lives: its bridges and the media channels in them.
  const bridges = new Set<string>();
  const mediaChannels = new Set<string>();
  watchAsteriskUse(cluster, { caller, bridges, mediaChannels });
  let activeflowId = '';
  await eventually(
    async () => {
      const calls = await client.api<{ result: { channel_id: string; activeflow_id: string }[] }>('GET', '/v1.0/calls');
      activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)?.activeflow_id ?? '';
      return activeflowId !== '';
    },
    'the call record',
    20_000,
    100,
  );
  let aicallId = '';
  const findAicall = async () => {
    if (aicallId) return aicallId;
    await eventually(
      async () => {
        const aicalls = await client.api<{ result: { id: string; activeflow_id: string }[] }>('GET', '/v1.0/aicalls?page_size=100');
        aicallId = aicalls.result.find((entry) => entry.activeflow_id === activeflowId)?.id ?? '';
        return aicallId !== '';
      },
      'the AIcall',
      20_000,
      100,
    );
    return aicallId;
  };
  const messages = async () => {
    const id = await findAicall();
    const page = await client.api<{ result: StoredMessage[] }>('GET', `/v1.0/aimessages?aicall_id=${id}&page_size=100`);
    return page.result.filter((message) => message.role !== 'system').reverse();
  };
  const waitForMessage = async (predicate: (message: StoredMessage) => boolean, what: string, timeoutMs = 30_000) => {
    let found: StoredMessage | undefined;
    await eventually(
      throughOutages(async () => {
        found = (await messages()).find(predicate);
        return found !== undefined;
      }),
      what,
      timeoutMs,
      100,
    );
    return found!;
  };
  return {
    caller,
    bridges,
    mediaChannels,
    activeflowId,
    aicallId: findAicall,
    messages,
    waitForMessage,
    waitForAnswer: (text, timeoutMs) => waitForMessage((message) => message.role === 'assistant' && message.content === text, `the answer "${text}" to be played`, timeoutMs),
    say: async (phrase) => caller.play(await speech(phrase)),
  };
}

/**
 * A poll that answers "not yet" while the platform answers 502/503/504 (a broker or database
 * restart the test injected: the API says so until it is back), and fails on anything else.
 */
export function throughOutages(predicate: () => Promise<boolean>): () => Promise<boolean> {
  return () =>
    predicate().catch((error: unknown) => {
      if (error instanceof Error && /: 50[234] /.test(error.message)) return false;
      throw error;
    });
}

/**
 * Waits until nothing of the call is left: the AIcall (if one was made) terminated and its
 * pipeline gone from pipeline-manager, the caller's channel, every media channel and bridge
 * it used gone from Asterisk, and the activeflow ended.
 */
export async function expectNothingLeft(cluster: Cluster, client: Client, call: LiveCall, options: { aicall?: boolean } = {}): Promise<void> {
  await eventually(async () => !(await cluster.telephony.channels()).some((channel) => channel.id === call.caller.id), 'the caller channel to be gone', 20_000, 100);
  if (options.aicall ?? true) {
    const aicallId = await call.aicallId();
    await eventually(throughOutages(async () => (await client.api<{ status: string }>('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated'), 'the AIcall to be terminated', 20_000, 100);
    await eventually(async () => !(await cluster.pipelines()).some((pipeline) => pipeline.aicall_id === aicallId), 'the pipeline to be gone', 20_000, 100);
  }
  await eventually(async () => !(await cluster.telephony.channels()).some((channel) => call.mediaChannels.has(channel.id)), "the call's media channels to be gone", 20_000, 100);
  await eventually(async () => !(await cluster.telephony.bridges()).some((bridge) => call.bridges.has(bridge.id)), "the call's bridges to be gone", 20_000, 100);
  await eventually(throughOutages(async () => (await client.api<{ status: string }>('GET', `/v1.0/activeflows/${call.activeflowId}`)).status === 'ended'), 'the activeflow to end', 20_000, 100);
}

