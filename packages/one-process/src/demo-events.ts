/**
 * The demo's live output (`pnpm demo`, demo.ts): the events the services publish (the same ones
 * GET /v1.0/ws pushes) printed as the call goes, with the call time and each bot turn's latency.
 */
import { performance } from 'node:perf_hooks';
import type { EventEnvelope, Subscription } from '@avp/shared';
import type { OneProcessPlatform } from './start-one-process.ts';

/** One pipeline turn's latency, as published in `pipeline_turn_latency`. */
export interface DemoTurnLatency {
  turn: number;
  /** End of the caller's speech (or the start of the call) -> first audio sent. */
  totalMs: number | undefined;
  sttMs: number | undefined;
  llmFirstTokenMs: number | undefined;
  ttsFirstByteMs: number | undefined;
  /** End of the caller's speech -> the end of its turn decided (turn_config.end_of_turn). */
  endOfTurnMs: number | undefined;
  /** The answer was prepared during the end-of-turn wait. */
  preemptive: boolean;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1).padStart(5)}s`;

/** When the call started (performance.now()), once it has. */
export interface DemoCallClock {
  startedAt: number | undefined;
}

/** The call time for the start of a printed line, as `[  1.2s]`. */
export function demoCallTime(call: DemoCallClock): string {
  return `[${seconds(call.startedAt === undefined ? 0 : performance.now() - call.startedAt)}]`;
}

function substitute(text: string, variables: Record<string, unknown>): string {
  return text.replace(/\$\{([A-Za-z0-9_.-]+)\}/g, (_match, name: string) => String(variables[name] ?? ''));
}

/** What the events showed so far (the fields fill in as the call goes). */
export interface DemoEventLog {
  activeflowId: string | undefined;
  /** When (ms of call time) the flow's `talk` after `ai_talk` started. */
  flowTalkStartedAtMs: number | undefined;
  /** The pipeline's view, per bot turn. */
  turnLatencies: DemoTurnLatency[];
}

export interface DemoEventOptions {
  /** The demo's flow and AI: events of others are not shown. */
  flowId: string;
  aiId: string;
  call: DemoCallClock;
  print: (line: string) => void;
  /** Each subscription is added as soon as it is made; whoever passed the list closes them. */
  subscriptions: Subscription[];
}

/** Subscribes to the events of the demo's flow, AI session and pipeline, and prints them. */
export async function followDemoEvents(bus: OneProcessPlatform['bus'], { flowId, aiId, call, print, subscriptions }: DemoEventOptions): Promise<DemoEventLog> {
  const at = () => demoCallTime(call);
  const log: DemoEventLog = { activeflowId: undefined, flowTalkStartedAtMs: undefined, turnLatencies: [] };
  const turnLatencies = log.turnLatencies;
  let aicallId: string | undefined;
  let currentActionId: string | undefined;
  let aiTalkSeen = false;
  const tag = `demo-${process.pid}-${Date.now()}`;
  subscriptions.push(
    await bus.subscribe(
      'flow-manager',
      ['activeflow_created', 'activeflow_updated'],
      async (event: EventEnvelope) => {
        const activeflow = event.data as { id: string; flow_id: string; current_action: { id: string; type: string; option?: Record<string, unknown> } | null; variables: Record<string, unknown> };
        if (activeflow.flow_id !== flowId) return;
        log.activeflowId ??= activeflow.id;
        const action = activeflow.current_action;
        if (!action || action.id === currentActionId) return;
        currentActionId = action.id;
        if (action.type === 'ai_talk') aiTalkSeen = true;
        if (action.type === 'block') return; // ai_talk waiting for its session: nothing to show.
        if (action.type === 'talk') {
          if (aiTalkSeen && log.flowTalkStartedAtMs === undefined && call.startedAt !== undefined) log.flowTalkStartedAtMs = performance.now() - call.startedAt;
          print(`${at()} flow: talk "${substitute(String(action.option?.text ?? ''), activeflow.variables)}"`);
        } else {
          print(`${at()} flow: ${action.type}`);
        }
      },
      { queue: `${tag}-flow`, temporary: true },
    ),
  );
  subscriptions.push(
    await bus.subscribe(
      'ai-manager',
      ['aimessage_created', 'aicall_status_progressing', 'aicall_status_terminated'],
      async (event: EventEnvelope) => {
        if (event.type.startsWith('aicall_status')) {
          const aicall = event.data as { id: string; assistance_id: string };
          if (aicall.assistance_id !== aiId) return;
          aicallId ??= aicall.id;
          print(`${at()} AI session ${event.type === 'aicall_status_progressing' ? 'started' : 'ended'} (aicall ${aicall.id})`);
          return;
        }
        const message = event.data as { aicall_id: string; active_ai_id: string; role: string; content: string; tool_calls?: { function: { name: string; arguments: string } }[] };
        if (message.active_ai_id !== aiId) return;
        if (message.role === 'user') print(`${at()} AI heard: "${message.content}"`);
        if (message.role === 'assistant') {
          if (message.content) print(`${at()} AI: ${message.content}`);
          for (const call of message.tool_calls ?? []) print(`${at()} tool call: ${call.function.name} ${call.function.arguments}`);
        }
        if (message.role === 'tool') {
          let shown = message.content;
          try {
            const result = JSON.parse(message.content) as { result?: string; message?: string };
            shown = [result.result, result.message].filter(Boolean).join(': ');
          } catch {
            // Shown as stored.
          }
          print(`${at()} tool result: ${shown}`);
        }
      },
      { queue: `${tag}-ai`, temporary: true },
    ),
  );
  subscriptions.push(
    await bus.subscribe(
      'pipeline-manager',
      ['pipeline_turn_latency'],
      async (event: EventEnvelope) => {
        const data = event.data as {
          aicall_id: string;
          turn: number;
          userStoppedAt?: number;
          speechEndedAt?: number;
          sttFinalAt?: number;
          turnEndAt?: number;
          preemptive?: boolean;
          llmRequestAt?: number;
          llmFirstTokenAt?: number;
          ttsFirstByteAt?: number;
          firstAudioAt?: number;
        };
        if (aicallId !== undefined && data.aicall_id !== aicallId) return;
        const span = (from: number | undefined, to: number | undefined) => (from !== undefined && to !== undefined ? Math.round(to - from) : undefined);
        // The caller's speech ended where the VAD heard it end (before the VAD's own stop wait).
        const speechEnd = data.speechEndedAt ?? data.userStoppedAt;
        const latency: DemoTurnLatency = {
          turn: data.turn,
          totalMs: span(speechEnd ?? data.llmRequestAt, data.firstAudioAt),
          sttMs: span(speechEnd, data.sttFinalAt),
          llmFirstTokenMs: span(data.llmRequestAt, data.llmFirstTokenAt),
          ttsFirstByteMs: span(data.llmFirstTokenAt, data.ttsFirstByteAt),
          endOfTurnMs: span(speechEnd, data.turnEndAt),
          preemptive: data.preemptive === true,
        };
        turnLatencies.push(latency);
        const parts = [
          latency.sttMs === undefined ? undefined : latency.sttMs <= 0 ? 'STT final before the end of speech was detected' : `STT final ${latency.sttMs} ms`,
          latency.llmFirstTokenMs === undefined ? undefined : `LLM first token ${latency.llmFirstTokenMs} ms`,
          latency.ttsFirstByteMs === undefined ? undefined : `TTS first audio ${latency.ttsFirstByteMs} ms`,
          latency.endOfTurnMs === undefined ? undefined : `end of turn decided after ${latency.endOfTurnMs} ms${latency.preemptive ? ', the answer prepared during the wait' : ''}`,
        ].filter(Boolean);
        const from = speechEnd !== undefined ? 'the end of the caller\'s speech' : 'the turn started';
        print(`${at()} AI starts speaking (turn ${data.turn}: first audio ${latency.totalMs ?? '?'} ms after ${from}${parts.length ? `; ${parts.join(', ')}` : ''})`);
      },
      { queue: `${tag}-pipeline`, temporary: true },
    ),
  );
  return log;
}
