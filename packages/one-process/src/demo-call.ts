/**
 * The demo's caller (`pnpm demo`, demo.ts): its synthesised voice, and its side of the
 * conversation from the answer to the hang-up, printed as it goes.
 */
import type { Caller } from '@avp/asterisk-simulator';
import { resampleClip, synthesizeWithEspeak } from '@avp/shared';

/** The caller's lines, synthesised before the call so that speaking starts on time. */
export async function synthesizeCallerLines(lines: readonly string[], voice: string): Promise<Int16Array[]> {
  return Promise.all(lines.map(async (line) => (await resampleClip(await synthesizeWithEspeak(line, { voice, wordsPerMinute: 150 }), 16_000)).samples));
}

/** Resolves once the caller has heard audio and then `quietMs` of nothing. */
async function waitForTurnEnd(caller: Caller, quietMs: number, timeoutMs: number): Promise<void> {
  await caller.waitForAudio(timeoutMs);
  for (;;) {
    await caller.waitForSilence(timeoutMs);
    const resumed = await caller.waitForAudio(quietMs).then(
      () => true,
      () => false,
    );
    if (!resumed || caller.ended) return;
  }
}

export interface DemoCallOptions {
  /** What the caller says, in order, and the same synthesised (synthesizeCallerLines). */
  lines: readonly string[];
  audio: Int16Array[];
  print: (line: string) => void;
  /** The call time, for the start of a printed line. */
  at: () => string;
  /** Longest the whole call may take, from now. */
  callTimeoutMs: number;
  /** The AI is the offline engine, which ends the conversation itself. */
  offlineLlm: boolean;
  /** turn_config.end_of_turn.complete_stop_secs, for the printed explanation of the caller's latency. */
  endOfTurnSecs: number;
}

/**
 * The caller's side of the call just placed: waits for the answer and the greeting, says each
 * line and waits for the reply, then waits for the flow to hang up (or hangs up itself).
 */
export async function talkThroughDemoCall(caller: Caller, { lines, audio, print, at, callTimeoutMs, offlineLlm, endOfTurnSecs }: DemoCallOptions): Promise<void> {
  const deadline = Date.now() + callTimeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  try {
    await caller.waitForAnswer(left());
    await waitForTurnEnd(caller, 1200, left());
    for (const [index, line] of lines.entries()) {
      if (caller.ended) break;
      print(`${at()} Caller: ${line}`);
      const answered = caller.responseLatenciesMs.length;
      await caller.play(audio[index]!);
      await caller.waitForAudio(left());
      const heard = caller.responseLatenciesMs[answered];
      if (heard !== undefined) {
        print(
          `${at()} Caller hears the reply ${Math.round(heard)} ms after it stopped speaking ` +
            `(the turn ends after ${endOfTurnSecs} s of silence, turn_config.end_of_turn; the answer is prepared during that wait)`,
        );
      }
      await waitForTurnEnd(caller, 1200, left());
    }
    // A real language model may not end the conversation as asked: the caller then hangs up.
    const hungUp = await caller.waitForHangup(Math.min(left(), offlineLlm ? callTimeoutMs : 45_000)).then(
      () => true,
      () => false,
    );
    if (hungUp) print(`${at()} The flow hung up.`);
    else {
      print(`${at()} The caller hangs up (the conversation did not end by itself).`);
      caller.hangup();
    }
  } catch (error) {
    caller.hangup();
    throw new Error(`the demo call did not complete: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
