import { describe, expect, it } from 'vitest';
import { FakeLlm, FakeTts } from '../pipeline/testing/fakes.ts';
import { ProviderError } from '../providers/provider-error.ts';
import type { TtsOptions } from '../providers/types.ts';
import type { PipelineStart, ProviderSource } from './pipeline-start.ts';
import { pipelineStartSchema } from './pipeline-start.ts';
import { fallbackProviders } from './provider-start.ts';

const start = (ai: Record<string, unknown>): PipelineStart['ai'] =>
  pipelineStartSchema.parse({ aicall_id: crypto.randomUUID(), customer_id: crypto.randomUUID(), call_id: crypto.randomUUID(), ai: { engine_model: 'openai.main', ...ai } }).ai;

/** A provider source that records what it was asked to build; `refuse` names engines it cannot build. */
function recordingSource(refuse: string[] = []) {
  const asked: { llm: PipelineStart['ai'][]; tts: PipelineStart['ai'][] } = { llm: [], tts: [] };
  const opened: TtsOptions[] = [];
  const source: ProviderSource = {
    llm: (ai) => {
      asked.llm.push(ai);
      if (refuse.includes(ai.engine_model)) throw new ProviderError('auth', `${ai.engine_model}: no API key`);
      return new FakeLlm([]);
    },
    stt: () => {
      throw new Error('not asked');
    },
    tts: (ai) => {
      asked.tts.push(ai);
      if (refuse.includes(ai.tts_type)) throw new ProviderError('bad_request', `tts_type "${ai.tts_type}" is not implemented`);
      const tts = new FakeTts();
      return {
        name: tts.name,
        open: (options) => {
          opened.push(options);
          return tts.open(options);
        },
      };
    },
  };
  return { source, asked, opened };
}

describe('the fallback providers of a pipeline start', () => {
  it('builds none when the AI has none', () => {
    const { source, asked } = recordingSource();
    expect(fallbackProviders(source, start({}), [], () => undefined)).toEqual({});
    expect(asked).toEqual({ llm: [], tts: [] });
  });

  it('builds the fallback LLM with its own key, never the main one', () => {
    const { source, asked } = recordingSource();
    const built = fallbackProviders(source, start({ engine_key: 'sk-main', fallback_engine_model: 'anthropic.backup' }), [], () => undefined);
    expect(built.fallbackLlm).toBeDefined();
    expect(asked.llm[0]).toMatchObject({ engine_model: 'anthropic.backup' });
    expect(asked.llm[0]!.engine_key).toBeUndefined();
    fallbackProviders(source, start({ engine_key: 'sk-main', fallback_engine_model: 'anthropic.backup', fallback_engine_key: 'sk-backup' }), [], () => undefined);
    expect(asked.llm[1]).toMatchObject({ engine_model: 'anthropic.backup', engine_key: 'sk-backup' });
  });

  it('builds the fallback TTS speaking with its own voice', () => {
    const { source, asked, opened } = recordingSource();
    const built = fallbackProviders(source, start({ tts_type: 'openai', tts_voice_id: 'alloy', fallback_tts_type: 'local', fallback_tts_voice_id: 'en-us' }), [], () => undefined);
    expect(asked.tts[0]).toMatchObject({ tts_type: 'local', tts_voice_id: 'en-us' });
    built.fallbackTts!.open({ voiceId: 'alloy', language: 'en-US' });
    expect(opened[0]).toMatchObject({ voiceId: 'en-us', language: 'en-US' });
  });

  it('leaves out, with a warning, a fallback this deployment cannot build; the other still comes', () => {
    const { source } = recordingSource(['fish']);
    const warnings: string[] = [];
    const built = fallbackProviders(source, start({ fallback_engine_model: 'openai.backup', fallback_tts_type: 'fish' }), [], (message) => warnings.push(message));
    expect(built.fallbackLlm).toBeDefined();
    expect(built.fallbackTts).toBeUndefined();
    expect(warnings).toEqual(['the fallback TTS fish is not available']);
  });
});
