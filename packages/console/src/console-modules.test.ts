import { describe, expect, it } from 'vitest';
import { problemsByField } from '../web/field-problems.ts';
import { latencyBars, latencyScale } from '../web/latency-layout.ts';
import { toolResultText } from '../web/tool-result.ts';
import { offsetLabel, transcriptionLines } from '../web/transcription-lines.ts';

describe('problemsByField', () => {
  const fields = ['name', 'engine_model', 'parameter', 'tool_names'];

  it('puts each validation problem on the field it names, nested paths on their top field', () => {
    const byField = problemsByField(['engine_model: must be <provider>.<model>', 'parameter.notes.0: must not contain NUL', 'tool_names: unknown tool "x"'], fields);
    expect(byField.get('engine_model')).toEqual(['must be <provider>.<model>']);
    expect(byField.get('parameter')).toEqual(['must not contain NUL']);
    expect(byField.get('tool_names')).toEqual(['unknown tool "x"']);
    expect(byField.has('')).toBe(false);
  });

  it('keeps problems that name no form field for the whole form', () => {
    const byField = problemsByField(['turn_config.stall: too long', 'something went wrong'], fields);
    expect(byField.get('')).toEqual(['turn_config.stall: too long', 'something went wrong']);
  });

  it('does not take a field whose name only starts like another', () => {
    expect(problemsByField(['name_extra: bad'], fields).get('')).toEqual(['name_extra: bad']);
  });
});

describe('latencyBars', () => {
  it('lays STT, LLM and TTS one after the other and the first audio from the end of speech', () => {
    const bars = latencyBars({ first_audio_ms: 940, stt_final_ms: 830, llm_first_token_ms: 5, tts_first_byte_ms: 100 });
    expect(bars.map((bar) => [bar.key, bar.startMs, bar.endMs])).toEqual([
      ['stt', 0, 830],
      ['llm', 830, 835],
      ['tts', 835, 935],
      ['first_audio', 0, 940],
    ]);
  });

  it('leaves out missing parts (a greeting has no STT) without a gap', () => {
    const bars = latencyBars({ first_audio_ms: 120, llm_first_token_ms: 8, tts_first_byte_ms: 110 });
    expect(bars.map((bar) => [bar.key, bar.startMs, bar.endMs])).toEqual([
      ['llm', 0, 8],
      ['tts', 8, 118],
      ['first_audio', 0, 120],
    ]);
  });

  it('starts the LLM after the end-of-turn wait when the answer was only asked for then', () => {
    const bars = latencyBars({ first_audio_ms: 452, stt_final_ms: -100, llm_first_token_ms: 0, tts_first_byte_ms: 17, end_of_turn_ms: 430 });
    expect(bars.map((bar) => [bar.key, bar.startMs, bar.endMs])).toEqual([
      ['end_of_turn', 0, 430],
      ['stt', -100, 0],
      ['llm', 430, 430],
      ['tts', 430, 447],
      ['first_audio', 0, 452],
    ]);
  });

  it('keeps an answer prepared during the end-of-turn wait right after the transcript', () => {
    const bars = latencyBars({ first_audio_ms: 760, stt_final_ms: 150, llm_first_token_ms: 350, tts_first_byte_ms: 150, end_of_turn_ms: 750 });
    expect(bars.map((bar) => [bar.key, bar.startMs, bar.endMs])).toEqual([
      ['end_of_turn', 0, 750],
      ['stt', 0, 150],
      ['llm', 150, 500],
      ['tts', 500, 650],
      ['first_audio', 0, 760],
    ]);
  });

  it('draws a transcript that was final before the end of speech was detected before 0, the LLM from 0', () => {
    const bars = latencyBars({ first_audio_ms: 454, stt_final_ms: -99, llm_first_token_ms: 2, tts_first_byte_ms: 112 });
    expect(bars.map((bar) => [bar.key, bar.valueMs, bar.startMs, bar.endMs])).toEqual([
      ['stt', -99, -99, 0],
      ['llm', 2, 0, 2],
      ['tts', 112, 2, 114],
      ['first_audio', 454, 0, 454],
    ]);
  });

  it('draws nothing for a message without latency, and ignores figures that are not numbers', () => {
    expect(latencyBars(null)).toEqual([]);
    expect(latencyBars({})).toEqual([]);
    expect(latencyBars({ llm_first_token_ms: Number.NaN, first_audio_ms: Number.POSITIVE_INFINITY })).toEqual([]);
  });

  it('scales every turn of a call to the span of all their bars', () => {
    expect(latencyScale([latencyBars({ first_audio_ms: 300 }), latencyBars({ stt_final_ms: 700, tts_first_byte_ms: 200 })])).toEqual({ fromMs: 0, toMs: 900 });
    expect(latencyScale([latencyBars({ stt_final_ms: -50, first_audio_ms: 200 })])).toEqual({ fromMs: -50, toMs: 200 });
    expect(latencyScale([])).toEqual({ fromMs: 0, toMs: 1 });
  });
});

describe('toolResultText', () => {
  it('shows the platform\'s tool result as its outcome and message', () => {
    expect(toolResultText('{"tool_call_id":"x","run_llm":true,"result":"success","message":"Saved caller_name."}')).toBe('success: Saved caller_name.');
    expect(toolResultText('{"result":"failed","message":""}')).toBe('failed');
  });

  it('shows anything else as it is', () => {
    expect(toolResultText('plain text')).toBe('plain text');
    expect(toolResultText('{"other":1}')).toBe('{"other":1}');
  });
});

describe('transcriptionLines', () => {
  it('puts both sides in the order they were said, naming who spoke, with m:ss offsets', () => {
    const lines = transcriptionLines([
      { direction: 'out', message: 'your table is booked', offset_ms: 9_400 },
      { direction: 'in', message: 'a table for two', offset_ms: 4_250 },
      { direction: 'out', message: 'hello how can i help you', offset_ms: 300 },
      { direction: 'in', message: 'thanks', offset_ms: 64_000 },
    ]);
    expect(lines).toEqual([
      { at: '0:00', speaker: 'Heard by the caller', text: 'hello how can i help you' },
      { at: '0:04', speaker: 'Caller', text: 'a table for two' },
      { at: '0:09', speaker: 'Heard by the caller', text: 'your table is booked' },
      { at: '1:04', speaker: 'Caller', text: 'thanks' },
    ]);
  });

  it('never shows a negative offset', () => {
    expect(offsetLabel(-20)).toBe('0:00');
  });
});
