import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TurnMetrics, turnStages } from './turn-metrics.ts';

/** The value of one sample line of the exposition text, or undefined when it is missing. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('TurnMetrics', () => {
  it('observes every stage of a turn, counts interruptions, stalls and discarded answers, and reads the live sessions', async () => {
    const registry = new Registry();
    const metrics = new TurnMetrics(registry);
    let live = 3;
    metrics.countActiveSessions(() => live);
    metrics.observe({ type: 'turn_latency', turn: 1, speechEndedAt: 1000, userStoppedAt: 1800, sttFinalAt: 1150, turnEndAt: 1800, llmRequestAt: 1800, llmFirstTokenAt: 2150, ttsFirstByteAt: 2300, firstAudioAt: 2310 });
    metrics.observe({ type: 'turn_latency', turn: 2, preemptive: true, speechEndedAt: 5000, turnEndAt: 5200, llmRequestAt: 4900, llmFirstTokenAt: 5000, ttsFirstByteAt: 5100, firstAudioAt: 5210 });
    // A turn that produced no audio is not a turn answered.
    metrics.observe({ type: 'turn_latency', turn: 3, userStoppedAt: 9000, llmRequestAt: 9000 });
    metrics.observe({ type: 'interruption', turn: 1, kind: 'real' });
    metrics.observe({ type: 'interruption', turn: 2, kind: 'backchannel' });
    metrics.observe({ type: 'interruption', turn: 2, kind: 'backchannel' });
    metrics.observe({ type: 'barge_in', turn: 1, heardText: 'Hello', decidedAt: 100, stoppedAt: 130 });
    metrics.observe({ type: 'stall', turn: 2, stage: 'llm', action: 'filler', provider: 'openai' });
    metrics.observe({ type: 'preemptive_discarded', turn: 2 });
    metrics.observe({ type: 'user_transcript', turn: 1, text: 'ignored' });

    let text = await registry.metrics();
    expect(sample(text, 'pipeline_manager_turn_stage_seconds_count{stage="first_audio"}')).toBe(2);
    expect(sample(text, 'pipeline_manager_turn_stage_seconds_sum{stage="first_audio"}')).toBeCloseTo(1.31 + 0.21, 6);
    expect(sample(text, 'pipeline_manager_turn_stage_seconds_sum{stage="endpointing_wait"}')).toBeCloseTo(0.8 + 0.2, 6);
    expect(sample(text, 'pipeline_manager_turn_stage_seconds_sum{stage="stt_final"}')).toBeCloseTo(0.15, 6);
    expect(sample(text, 'pipeline_manager_turn_stage_seconds_count{stage="stt_final"}')).toBe(1);
    expect(sample(text, 'pipeline_manager_turn_stage_seconds_sum{stage="llm_first_token"}')).toBeCloseTo(0.35 + 0.1, 6);
    expect(sample(text, 'pipeline_manager_turn_stage_seconds_bucket{le="0.2",stage="tts_first_byte"}')).toBe(2);
    expect(sample(text, 'pipeline_manager_turn_stage_seconds_bucket{le="0.1",stage="tts_first_byte"}')).toBe(1);
    expect(sample(text, 'pipeline_manager_turns_total{preemptive="true"}')).toBe(1);
    expect(sample(text, 'pipeline_manager_turns_total{preemptive="false"}')).toBe(1);
    expect(sample(text, 'pipeline_manager_interruptions_total{kind="real"}')).toBe(1);
    expect(sample(text, 'pipeline_manager_interruptions_total{kind="backchannel"}')).toBe(2);
    expect(sample(text, 'pipeline_manager_interruptions_total{kind="false"}')).toBe(0);
    expect(sample(text, 'pipeline_manager_barge_in_stop_seconds_sum')).toBeCloseTo(0.03, 6);
    expect(sample(text, 'pipeline_manager_stalls_total{stage="llm",action="filler"}')).toBe(1);
    expect(sample(text, 'pipeline_manager_preemptive_discarded_total')).toBe(1);
    expect(sample(text, 'pipeline_manager_active_sessions')).toBe(3);
    live = 1;
    text = await registry.metrics();
    expect(sample(text, 'pipeline_manager_active_sessions')).toBe(1);
  });

  it('measures stages from the end of speech, leaves out missing ones and never goes negative', () => {
    expect(turnStages({ turn: 1, userStoppedAt: 800, sttFinalAt: 700, llmRequestAt: 800, llmFirstTokenAt: 900, firstAudioAt: 1200 })).toEqual({
      stt_final: 0,
      llm_first_token: 100,
      first_audio: 400,
    });
    // A greeting has no caller speech: first audio counts from the LLM request.
    expect(turnStages({ turn: 0, llmRequestAt: 0, llmFirstTokenAt: 5, ttsFirstByteAt: 300, firstAudioAt: 320 })).toEqual({ llm_first_token: 5, tts_first_byte: 295, first_audio: 320 });
  });
});
