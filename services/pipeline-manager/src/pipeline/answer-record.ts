import type { SegmentPlayout } from '../media/output-queue.ts';
import type { LlmMessage } from '../providers/types.ts';
import type { BotSpeech } from './bot-speech.ts';
import { heardText, type BotTurn } from './bot-turn.ts';
import type { ConversationOptions } from './conversation-types.ts';

/**
 * What of the bot's answers goes on record, as the caller heard it: a finished answer is
 * reported once all its audio has played; one cut short keeps, in the history and the
 * report, only the words that were played.
 */
export class AnswerRecord {
  private readonly playedSegments = new Set<string>();

  constructor(
    /** The conversation's history (changed in place). */
    private readonly messages: LlmMessage[],
    private readonly options: Pick<ConversationOptions, 'onEvent'>,
    private readonly speech: BotSpeech,
  ) {}

  /** An output segment finished playing (whole, unless something of it was dropped). */
  segmentPlayed(playout: SegmentPlayout): void {
    if (playout.droppedMs === 0) this.playedSegments.add(playout.segmentId);
  }

  /**
   * `turn` was cut off (`playouts`, as the transport's interrupt reports them): records its
   * answer as far as it was heard, unless already reported, and returns the words heard.
   */
  cut(turn: BotTurn, playouts: SegmentPlayout[]): string {
    const heard = heardText(turn, this.playedSegments, playouts);
    if (turn.reported) {
      // Already reported (a message with tool calls): nothing to add.
    } else if (!turn.done) {
      // The turn was cut short: its (partial) answer goes into the history as heard.
      turn.reported = true;
      this.messages.push({ role: 'assistant', content: heard });
      this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text: heard, interrupted: true, toolCalls: [] });
    } else if (turn.pendingMessage !== undefined) {
      turn.reported = true;
      // Written in full but still playing: the history and the report keep what was heard.
      turn.pendingMessage = undefined;
      const last = this.messages.at(-1);
      if (last?.role === 'assistant' && !last.toolCalls) last.content = heard;
      this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text: heard, interrupted: true, toolCalls: [] });
    }
    return heard;
  }

  /** Reports a finished answer once its audio has played (unless a barge-in reported it first). */
  async reportWhenPlayed(turn: BotTurn): Promise<void> {
    await this.speech.drained(turn.controller.signal);
    if (turn.pendingMessage === undefined) return;
    const text = turn.pendingMessage;
    turn.pendingMessage = undefined;
    turn.reported = true;
    this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text, interrupted: false, toolCalls: [] });
  }
}
