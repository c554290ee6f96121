export { createPipelineManager, databaseSchema, registryProviders, serviceName, type PipelineManager, type PipelineManagerOptions } from './app.ts';
export { pipelineStartSchema, type PipelineStart, type ProviderSource } from './sessions/pipeline-sessions.ts';
export type { ConversationVad } from './pipeline/conversation.ts';
export { createTtsProvider, createLlmProvider, createSttProvider } from './providers/registry.ts';
export type { LlmProvider, SttProvider, SttSession, SttEvent, TtsProvider } from './providers/types.ts';
export { pipelineManagerSettingsSchema, pipelineManagerOptionsFromSettings } from './config.ts';
