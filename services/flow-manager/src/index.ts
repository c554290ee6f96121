export { createFlowManager, databaseSchema, serviceName, type AriSettings, type FlowManager, type FlowManagerOptions } from './app.ts';
export { ariEnvironmentSchema, ariSettingsFrom, flowManagerOptionsFromSettings, flowManagerSettingsSchema } from './config.ts';
