import type { LlmMessage } from '../providers/types.ts';

type ToolMessage = Extract<LlmMessage, { role: 'tool' }>;

/**
 * Puts a tool result into the history right after the assistant message that asked for it
 * (and the results before it), not at the end: the caller may have spoken while the tool ran,
 * and a result after their words reads to the LLM as a call never answered, which it repeats.
 */
export function placeToolResult(messages: LlmMessage[], result: ToolMessage): void {
  let index = messages.length - 1;
  while (index >= 0) {
    const message = messages[index]!;
    if (message.role === 'assistant' && message.toolCalls?.some((call) => call.id === result.toolCallId)) break;
    index -= 1;
  }
  if (index < 0) {
    messages.push(result);
    return;
  }
  index += 1;
  while (index < messages.length && messages[index]!.role === 'tool') index += 1;
  messages.splice(index, 0, result);
}

/** The result given for a call of an interrupted round that had not started: never run. */
export function notRunResult(): string {
  return JSON.stringify({ result: 'not_run', message: 'The caller interrupted before this tool call ran; it was not run.' });
}
