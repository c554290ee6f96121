import type { LlmMessage, LlmToolCall } from '../providers/types.ts';
import type { BotTurn } from './bot-turn.ts';
import type { ConversationOptions, ToolExecution } from './conversation-types.ts';
import { notRunResult, placeToolResult } from './tool-history.ts';

/** What a round of tool calls asks of the turn: run the LLM again, or end the session. */
export interface ToolRoundOutcome {
  runAgain: boolean;
  endSession?: string;
}

/**
 * Runs a round's tool calls in order, their results into the history (`messages`), each call
 * and result reported. A call the turn's interruption came before is not run, but answered.
 */
export async function runToolRound(
  turn: BotTurn,
  toolCalls: LlmToolCall[],
  messages: LlmMessage[],
  options: Pick<ConversationOptions, 'executeTool' | 'onEvent'>,
): Promise<ToolRoundOutcome> {
  let runAgain = false;
  let endSession: string | undefined;
  for (const call of toolCalls) {
    let execution: ToolExecution;
    if (turn.controller.signal.aborted) {
      // Interrupted before it ran: not run now, but answered, so the history stays whole.
      execution = { result: notRunResult(), runLlm: false };
    } else {
      options.onEvent({ type: 'tool_call', turn: turn.turn, call });
      try {
        // Not abortable: a call under way (a booking, an SMS) completes once, interrupted or not.
        execution = await options.executeTool(call);
      } catch (error) {
        execution = { result: JSON.stringify({ result: 'failed', message: error instanceof Error ? error.message : String(error) }), runLlm: true };
      }
    }
    placeToolResult(messages, { role: 'tool', toolCallId: call.id, name: call.name, content: execution.result });
    options.onEvent({ type: 'tool_result', turn: turn.turn, call, result: execution.result });
    runAgain ||= execution.runLlm;
    endSession ??= execution.endSession;
  }
  return { runAgain, endSession };
}
