export { createAiManager, databaseSchema, serviceName, type AiManager, type AiManagerOptions } from './app.ts';
export {
  aiManagerEnvironmentSchema,
  aiManagerOptionsFromSettings,
  aiManagerSettingsSchema,
  loadOrCreateLocalEncryptionKey,
  type AiManagerSettings,
} from './config.ts';
export { signWebhook, verifyWebhook, webhookHeaders } from './webhooks/webhook-signature.ts';
