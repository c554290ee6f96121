import { formatTime, h } from './dom.ts';
import { latencyChart } from './latency-chart.ts';
import { toolResultText } from './tool-result.ts';
import { latencyBars, latencyScale, type LatencyScale, type TurnLatency } from './latency-layout.ts';

/** An AIcall's message as the API and `aimessage_created` show it. */
export interface Aimessage {
  id: string;
  aicall_id: string;
  role: 'system' | 'user' | 'assistant' | 'tool' | 'notification';
  content: string;
  direction: string;
  tool_calls: { id: string; function: { name: string; arguments: string } }[];
  tool_call_id: string;
  latency: TurnLatency | null;
  tm_create: string;
}

const speakers: Record<Aimessage['role'], string> = { system: 'System', user: 'Caller', assistant: 'AI', tool: 'Tool result', notification: 'Note' };

/**
 * One transcript entry: who said what, the tool calls an answer made, and the answer's latency
 * waterfall. System prompts are left out (they are the AI's configuration, not the call).
 * `scale` is the chart's scale (default: the turn's own bars).
 */
export function transcriptEntry(message: Aimessage, turn: number | undefined, scale?: LatencyScale): HTMLElement | undefined {
  if (message.role === 'system') return undefined;
  const chart = turn === undefined ? undefined : latencyChart(message.latency, scale ?? latencyScale([latencyBars(message.latency)]), `Turn ${turn}`);
  return h(
    'li',
    { class: `message role-${message.role}`, 'data-message-id': message.id },
    h('span', { class: 'speaker' }, speakers[message.role]),
    h('time', { datetime: message.tm_create, class: 'muted' }, formatTime(message.tm_create)),
    message.content ? h('p', { class: 'content' }, message.role === 'tool' ? toolResultText(message.content) : message.content) : null,
    ...message.tool_calls.map((call) => h('p', { class: 'tool-call' }, `tool call: ${call.function.name} ${call.function.arguments}`)),
    chart ? h('figure', { class: 'latency' }, chart, h('figcaption', { class: 'muted' }, `Turn ${turn}: time from the end of the caller's speech`)) : null,
  );
}

/** A whole conversation, oldest first, with one latency scale for all its turns. */
export function transcriptList(messages: readonly Aimessage[]): HTMLElement {
  const scale = latencyScale(messages.map((message) => latencyBars(message.latency)));
  let turn = 0;
  const entries = messages.map((message) => transcriptEntry(message, message.latency ? (turn += 1) : undefined, scale));
  return h('ol', { class: 'transcript' }, ...entries);
}
