export { createFlowManager, databaseSchema, serviceName, type AriSettings, type FlowManager, type FlowManagerOptions } from './app.ts';
export { ariEnvironmentSchema, ariSettingsFrom, flowManagerOptionsFromSettings, flowManagerSettingsSchema } from './config.ts';
export { LocalRecordingStorage, recordingStorageFromUrl, type RecordingStorage } from './domain/recordings/recording-storage.ts';
