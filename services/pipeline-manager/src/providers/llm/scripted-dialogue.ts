import { z } from 'zod';
import { ProviderError } from '../provider-error.ts';
import type { LlmEvent, LlmFinishReason, LlmMessage, LlmProvider, LlmRequest } from '../types.ts';

/**
 * `local.scripted`: not a language model. It follows a fixed declarative script so that
 * flows, tests and the demo run with no vendor, key or network. Each request replays the
 * script against the conversation history (user answers and tool results) to find where
 * the conversation is, then says the next lines.
 */
const valueSchema = z.union([z.string(), z.number(), z.boolean(), z.null(), z.record(z.string(), z.unknown()), z.array(z.unknown())]);
export const scriptStepSchema = z.union([
  /** Speak this text (`${name}` is replaced by a variable). */
  z.strictObject({ say: z.string() }),
  /** End the bot's turn and wait for the caller; the answer goes into `into` (and `last_answer`). */
  z.strictObject({ wait: z.literal('answer'), into: z.string().optional() }),
  /** Set variables. */
  z.strictObject({ set: z.record(z.string(), z.string()) }),
  /** Call a tool; its result goes into `into` (and `last_result`). */
  z.strictObject({ tool: z.string(), arguments: z.record(z.string(), valueSchema).optional(), into: z.string().optional() }),
  /** A jump target. */
  z.strictObject({ label: z.string() }),
  /** Jump, always or when a variable matches a regular expression (case-insensitive). */
  z.strictObject({ goto: z.string(), if: z.strictObject({ variable: z.string(), matches: z.string() }).optional() }),
  /** End the conversation, calling `tool` (default `stop_service` when that tool is offered). */
  z.strictObject({ end: z.literal(true), tool: z.string().optional() }),
]);
export type ScriptStep = z.infer<typeof scriptStepSchema>;
export const scriptSchema = z.strictObject({ script: z.array(scriptStepSchema).min(1) });

/** Used when neither the options nor the system prompt carry a script. */
export const defaultScript: ScriptStep[] = [
  { say: 'Hello! This is the offline scripted assistant. What is your name?' },
  { wait: 'answer', into: 'name' },
  { say: 'Nice to meet you, ${name}. Say anything and I will repeat it; say goodbye to end.' },
  { label: 'echo' },
  { wait: 'answer' },
  { goto: 'bye', if: { variable: 'last_answer', matches: '\\b(bye|goodbye)\\b' } },
  { say: 'You said: ${last_answer}' },
  { goto: 'echo' },
  { label: 'bye' },
  { say: 'Goodbye, ${name}!' },
  { end: true },
];

const MAX_STEPS_PER_TURN = 10_000;

/**
 * Finds a script in the system messages: a JSON object `{"script": [...]}`, alone or in a
 * ```json fenced block. Throws when one is present but invalid, so authors see the problem.
 */
export function scriptFromMessages(messages: LlmMessage[]): ScriptStep[] | undefined {
  for (const message of messages) {
    if (message.role !== 'system') continue;
    const fenced = /```(?:json)?\s*(\{[\s\S]*?\})\s*```/.exec(message.content)?.[1];
    const text = fenced ?? (message.content.trim().startsWith('{') ? message.content.trim() : undefined);
    if (!text || !text.includes('"script"')) continue;
    return scriptSchema.parse(JSON.parse(text)).script;
  }
  return undefined;
}

function substitute(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z0-9_.-]+)\}/g, (_match, name: string) => variables[name] ?? '');
}

function substituteValue(value: unknown, variables: Record<string, string>): unknown {
  if (typeof value === 'string') return substitute(value, variables);
  if (Array.isArray(value)) return value.map((item) => substituteValue(item, variables));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteValue(item, variables)]));
  }
  return value;
}

/** What the script does next, given the conversation so far. */
export function nextTurn(script: ScriptStep[], request: LlmRequest): { text: string[]; toolCall?: { id: string; name: string; arguments: string }; finishReason: LlmFinishReason } {
  const history = request.messages.filter((message) => message.role !== 'system');
  const offered = new Set((request.tools ?? []).map((tool) => tool.name));
  const variables: Record<string, string> = {};
  let position = 0; // next unconsumed history message
  let text: string[] = [];
  const labels = new Map<string, number>();
  script.forEach((step, index) => {
    if ('label' in step) labels.set(step.label, index);
  });
  /** Steps over what the bot already said; true when there was something. */
  const skipSpokenText = (): boolean => {
    const start = position;
    while (history[position]?.role === 'assistant' && !(history[position] as { toolCalls?: unknown[] }).toolCalls?.length) position++;
    return position > start;
  };
  const consumeToolCall = (name: string): { found: boolean; result?: string } => {
    skipSpokenText();
    const message = history[position];
    if (message?.role !== 'assistant' || !message.toolCalls?.some((call) => call.name === name)) return { found: false };
    position++;
    let result: string | undefined;
    while (history[position]?.role === 'tool') {
      result = (history[position] as { content: string }).content;
      position++;
    }
    return { found: true, result };
  };

  let step = 0;
  for (let executed = 0; step < script.length; executed++) {
    if (executed > MAX_STEPS_PER_TURN) throw new Error('script loops without waiting for an answer');
    const current = script[step]!;
    if ('say' in current) {
      text.push(substitute(current.say, variables));
    } else if ('set' in current) {
      for (const [name, value] of Object.entries(current.set)) variables[name] = substitute(value, variables);
    } else if ('wait' in current) {
      const spoken = skipSpokenText();
      const message = history[position];
      // Already said and still no answer (the pipeline ran the engine again): say nothing more.
      if (message?.role !== 'user') return { text: spoken ? [] : text, finishReason: 'stop' };
      position++;
      variables.last_answer = message.content;
      if (current.into) variables[current.into] = message.content;
      text = [];
    } else if ('end' in current) {
      const tool = current.tool ?? (offered.has('stop_service') ? 'stop_service' : undefined);
      const spoken = skipSpokenText();
      if (!tool) return { text: spoken ? [] : text, finishReason: 'stop' };
      if (consumeToolCall(tool).found) return { text: [], finishReason: 'stop' };
      return { text, toolCall: { id: `scripted_end_${position}`, name: tool, arguments: '{}' }, finishReason: 'tool-calls' };
    } else if ('tool' in current) {
      const consumed = consumeToolCall(current.tool);
      if (!consumed.found) {
        const args = JSON.stringify(substituteValue(current.arguments ?? {}, variables));
        return { text, toolCall: { id: `scripted_${step}_${position}`, name: current.tool, arguments: args }, finishReason: 'tool-calls' };
      }
      variables.last_result = consumed.result ?? '';
      if (current.into) variables[current.into] = consumed.result ?? '';
      text = [];
    } else if ('goto' in current) {
      const matches = !current.if || new RegExp(current.if.matches, 'i').test(variables[current.if.variable] ?? '');
      if (matches) {
        const target = labels.get(current.goto);
        if (target === undefined) throw new Error(`script jumps to unknown label "${current.goto}"`);
        step = target;
        continue;
      }
    }
    step++;
  }
  return { text, finishReason: 'stop' };
}

/** The scripted dialogue engine; `script` overrides the one found in the system prompt. */
export function createScriptedDialogue(options: { script?: ScriptStep[] } = {}): LlmProvider {
  return {
    name: 'local.scripted',
    async *stream(request): AsyncIterable<LlmEvent> {
      request.signal?.throwIfAborted();
      let turn: ReturnType<typeof nextTurn>;
      try {
        const script = options.script ?? scriptFromMessages(request.messages) ?? defaultScript;
        turn = nextTurn(script, request);
      } catch (error) {
        // A broken script is the author's mistake: report it like a rejected request.
        throw new ProviderError('bad_request', `local.scripted: invalid script: ${error instanceof Error ? error.message : String(error)}`, {
          provider: 'local.scripted',
          cause: error,
        });
      }
      for (const [index, line] of turn.text.entries()) {
        request.signal?.throwIfAborted();
        yield { type: 'text-delta', text: index === 0 ? line : ` ${line}` };
      }
      if (turn.toolCall) {
        yield { type: 'tool-call-start', id: turn.toolCall.id, name: turn.toolCall.name };
        yield { type: 'tool-call-delta', id: turn.toolCall.id, argumentsDelta: turn.toolCall.arguments };
        yield { type: 'tool-call', ...turn.toolCall };
      }
      // No model runs, so no tokens are used.
      yield { type: 'usage', inputTokens: 0, outputTokens: 0 };
      yield { type: 'done', finishReason: turn.finishReason };
    },
  };
}
