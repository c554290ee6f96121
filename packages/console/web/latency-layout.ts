/**
 * The waterfall of one spoken answer's latency, from the `latency` of its stored message
 * (`GET /v1.0/aimessages`, `aimessage_created`): what ran one after the other from the end of
 * the caller's speech, and when the first audio went out. Pure: the chart (latency-chart.ts)
 * draws it, the tests check it.
 */

/** `aimessage.latency` as the API gives it (ms; any part may be missing). */
export interface TurnLatency {
  first_audio_ms?: number;
  stt_final_ms?: number;
  llm_first_token_ms?: number;
  tts_first_byte_ms?: number;
  end_of_turn_ms?: number;
}

/** One bar of the waterfall (ms from the end of the caller's speech). */
export interface LatencyBar {
  key: 'end_of_turn' | 'stt' | 'llm' | 'tts' | 'first_audio';
  label: string;
  /** The figure as reported (negative for a transcript final before the end of speech was detected). */
  valueMs: number;
  startMs: number;
  endMs: number;
}

const finite = (value: number | undefined): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * The bars of a turn, all from the end of the caller's speech: the end-of-turn wait; STT final;
 * the LLM's first token after the transcript, or after the end-of-turn wait when the figures
 * show the answer was only asked for then (wait + LLM + TTS fit within the first audio; else it
 * was prepared during the wait); the TTS's first byte after the LLM's; and the first audio
 * sent. A missing part (no STT on a greeting) takes no time. A negative STT figure (the
 * transcript was final before the VAD saw the speech end) is drawn before 0. Empty when the
 * turn has no figure at all.
 */
export function latencyBars(latency: TurnLatency | null | undefined): LatencyBar[] {
  if (!latency) return [];
  const bars: LatencyBar[] = [];
  const endOfTurn = finite(latency.end_of_turn_ms) && latency.end_of_turn_ms >= 0 ? latency.end_of_turn_ms : undefined;
  if (endOfTurn !== undefined) bars.push({ key: 'end_of_turn', label: 'End-of-turn wait', valueMs: endOfTurn, startMs: 0, endMs: endOfTurn });
  let at = 0;
  const stt = latency.stt_final_ms;
  if (finite(stt)) {
    bars.push({ key: 'stt', label: 'STT final', valueMs: stt, startMs: Math.min(0, stt), endMs: Math.max(0, stt) });
    at = Math.max(0, stt);
  }
  const llm = finite(latency.llm_first_token_ms) ? latency.llm_first_token_ms : undefined;
  const tts = finite(latency.tts_first_byte_ms) ? latency.tts_first_byte_ms : undefined;
  const firstAudio = finite(latency.first_audio_ms) && latency.first_audio_ms >= 0 ? latency.first_audio_ms : undefined;
  // 5 ms of slack: the figures are rounded, and the audio leaves a moment after the first byte.
  if (endOfTurn !== undefined && firstAudio !== undefined && endOfTurn + (llm ?? 0) + (tts ?? 0) <= firstAudio + 5) at = Math.max(at, endOfTurn);
  for (const [key, label, value] of [['llm', 'LLM first token', llm], ['tts', 'TTS first byte', tts]] as const) {
    if (value === undefined) continue;
    bars.push({ key, label, valueMs: value, startMs: at, endMs: at + Math.max(0, value) });
    at += Math.max(0, value);
  }
  if (firstAudio !== undefined) bars.push({ key: 'first_audio', label: 'First audio', valueMs: firstAudio, startMs: 0, endMs: firstAudio });
  return bars;
}

/** The span every turn's bars fit in, for one shared scale: `fromMs` <= 0, `toMs` >= 1. */
export interface LatencyScale {
  fromMs: number;
  toMs: number;
}

export function latencyScale(turns: readonly LatencyBar[][]): LatencyScale {
  const scale = { fromMs: 0, toMs: 1 };
  for (const bars of turns) {
    for (const bar of bars) {
      scale.fromMs = Math.min(scale.fromMs, bar.startMs);
      scale.toMs = Math.max(scale.toMs, bar.endMs);
    }
  }
  return scale;
}
