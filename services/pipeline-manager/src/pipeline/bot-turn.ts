import type { SegmentPlayout } from '../media/output-queue.ts';
import type { TurnLatency } from './conversation-types.ts';
import { heardPart } from './heard-text.ts';

export interface Sentence {
  text: string;
  segmentId: string;
}

/** One turn of the bot: its answer (over tool rounds), its audio and what is reported of it. */
export interface BotTurn {
  turn: number;
  controller: AbortController;
  latency: TurnLatency;
  latencyReported: boolean;
  /** Sentences of the round being spoken, by TTS text index. */
  sentences: Sentence[];
  done: boolean;
  /** The answer, reported once the caller has heard all of it (or cut by a barge-in). */
  pendingMessage?: string;
  /** The current round's assistant message has been reported. */
  reported: boolean;
}

export function createBotTurn(turn: number, latency: Partial<TurnLatency> = {}, latencyReported = false): BotTurn {
  return {
    turn,
    controller: new AbortController(),
    latency: { turn, ...latency },
    latencyReported,
    sentences: [],
    done: false,
    reported: false,
  };
}

/**
 * The words of a turn's sentences the caller heard: every fully played sentence, then the
 * heard part of the one an interruption cut (`playouts`, as the transport reports them).
 */
export function heardText(turn: BotTurn, playedSegments: ReadonlySet<string>, playouts: SegmentPlayout[]): string {
  const cut = new Map(playouts.map((playout) => [playout.segmentId, playout]));
  const parts: string[] = [];
  for (const sentence of turn.sentences) {
    if (!sentence) continue;
    if (playedSegments.has(sentence.segmentId)) {
      parts.push(sentence.text);
      continue;
    }
    const playout = cut.get(sentence.segmentId);
    if (!playout) break;
    const total = playout.playedMs + playout.droppedMs;
    const part = heardPart(sentence.text, total > 0 ? playout.playedMs / total : 0);
    if (part) parts.push(part);
    break;
  }
  return parts.join(' ');
}
