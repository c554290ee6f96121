/**
 * Providers: the STT, LLM and TTS engines behind small interfaces (see README.md).
 * The pipeline builds them with the registry and programs against the types only.
 */
export type {
  LlmEvent,
  LlmFinishReason,
  LlmMessage,
  LlmProvider,
  LlmRequest,
  LlmToolCall,
  LlmToolDefinition,
  SttEvent,
  SttProvider,
  SttSession,
  SttStartOptions,
  TtsEvent,
  TtsOptions,
  TtsProvider,
  TtsSession,
} from './types.ts';
export { PIPELINE_SAMPLE_RATE } from './types.ts';
export {
  ProviderError,
  classifyProviderError,
  isProviderError,
  providerErrorCategories,
  type ProviderErrorCategory,
} from './provider-error.ts';
export {
  defaultResiliencePolicy,
  withLlmResilience,
  withSttResilience,
  withTtsResilience,
  type ResiliencePolicy,
} from './resilience.ts';
export { LinearResampler, linearResamplerFactory, type PcmResampler, type ResamplerFactory } from './audio.ts';
export {
  createLlmProvider,
  createSttProvider,
  createTtsProvider,
  implementedSttTypes,
  implementedTtsTypes,
  openAiCompatibleEndpoints,
  vendorEndpoints,
  type ProviderEnvironment,
  type ProviderFactoryOptions,
} from './registry.ts';
export { createScriptedDialogue, defaultScript, scriptSchema, type ScriptStep } from './llm/scripted-dialogue.ts';
export { createEspeakTts } from './tts/espeak.ts';
export { joinAudio, synthesize } from './tts/synthesize.ts';
