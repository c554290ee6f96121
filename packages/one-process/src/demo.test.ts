import { describe, expect, it } from 'vitest';
import { chooseDemoEngines, demoCallerLines, demoScript, demoSttPhrases } from './demo.ts';

describe('the demo engines', () => {
  it('are the offline ones without keys', () => {
    expect(chooseDemoEngines({})).toMatchObject({ engine_model: 'local.scripted', stt_type: 'local', tts_type: 'local' });
  });

  it('use a real provider for each key found', () => {
    expect(chooseDemoEngines({ OPENAI_API_KEY: 'k' })).toMatchObject({ engine_model: 'openai.gpt-4o-mini', stt_type: 'local', tts_type: 'openai' });
    expect(chooseDemoEngines({ ANTHROPIC_API_KEY: 'k', DEEPGRAM_API_KEY: 'k' })).toMatchObject({
      engine_model: 'anthropic.claude-3-5-haiku-latest',
      stt_type: 'deepgram',
      tts_type: 'deepgram',
    });
    expect(chooseDemoEngines({ OPENAI_API_KEY: 'k', ELEVENLABS_API_KEY: 'k' })).toMatchObject({ stt_type: 'elevenlabs', tts_type: 'elevenlabs' });
    expect(chooseDemoEngines({ DEMO_ENGINE_MODEL: 'groq.llama-3.1-8b-instant', DEMO_TTS_TYPE: 'cartesia', DEMO_STT_TYPE: 'cartesia' })).toMatchObject({
      engine_model: 'groq.llama-3.1-8b-instant',
      stt_type: 'cartesia',
      tts_type: 'cartesia',
    });
  });

  it('ignore keys when told to stay offline', () => {
    expect(chooseDemoEngines({ OPENAI_API_KEY: 'k', DEEPGRAM_API_KEY: 'k', DEMO_ENGINE_MODEL: 'openai.gpt-4o' }, 'local')).toMatchObject({
      engine_model: 'local.scripted',
      stt_type: 'local',
      tts_type: 'local',
    });
  });

  it('have the offline recogniser listen for everything the caller says', () => {
    for (const line of demoCallerLines) expect(demoSttPhrases).toContain(line);
    expect(demoScript.script.filter((step) => 'wait' in step)).toHaveLength(demoCallerLines.length);
  });
});
