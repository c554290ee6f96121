import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { env, standaloneEnvironmentSchema } from '@avp/shared';
import { z } from 'zod';
import type { AiManagerOptions } from './app.ts';

/** A 32-byte key as 64 hex characters or base64 (44 characters). */
export const encryptionKeySchema = z.string().refine(
  (value) => {
    const trimmed = value.trim();
    if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return true;
    return /^[A-Za-z0-9+/=_-]+$/.test(trimmed) && Buffer.from(trimmed, 'base64').length === 32;
  },
  { message: 'must be 32 bytes as 64 hex characters or base64 (openssl rand -base64 32)' },
);

/** ai-manager's own settings; shared by its standalone entry point and the one-process mode. */
export const aiManagerSettingsSchema = z.object({
  /** Guards the admin API (customers, access keys); unset = admin API refuses every request. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Encrypts AI engine keys at rest (AES-256-GCM). */
  ENGINE_KEY_ENCRYPTION_KEY: encryptionKeySchema.optional(),
  /** Sustained requests per second per access key (0 = no limit) and the burst above it. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(20),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(100),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().positive().default(10),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().positive().default(1000),
  WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().positive().default(600_000),
  WEBSOCKET_HEARTBEAT_MS: z.coerce.number().int().positive().default(30_000),
});
export type AiManagerSettings = z.infer<typeof aiManagerSettingsSchema>;

/** ai-manager's settings when it runs as its own process: the encryption key is required there. */
export const aiManagerEnvironmentSchema = standaloneEnvironmentSchema.extend({
  ...aiManagerSettingsSchema.shape,
  PORT: env.port(8080),
  ENGINE_KEY_ENCRYPTION_KEY: encryptionKeySchema,
});

export type AiManagerEnvironment = z.infer<typeof aiManagerEnvironmentSchema>;

/** The service options for validated settings. */
export function aiManagerOptionsFromSettings(settings: AiManagerSettings): AiManagerOptions {
  return {
    adminToken: settings.ADMIN_TOKEN,
    engineKeyEncryptionKey: settings.ENGINE_KEY_ENCRYPTION_KEY,
    rateLimit: { perSecond: settings.RATE_LIMIT_PER_SECOND, burst: settings.RATE_LIMIT_BURST },
    webhooks: {
      timeoutMs: settings.WEBHOOK_TIMEOUT_MS,
      maxAttempts: settings.WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: settings.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: settings.WEBHOOK_RETRY_MAX_MS,
    },
    websocket: { heartbeatMs: settings.WEBSOCKET_HEARTBEAT_MS },
  };
}

/**
 * For the one-process mode only: the engine-key encryption key kept in
 * `<dataDir>/engine-key-encryption.key`, created (mode 0600) on first use, so a developer
 * needs no setup and keys stay readable across restarts.
 */
export async function loadOrCreateLocalEncryptionKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'engine-key-encryption.key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return (await readFile(file, 'utf8')).trim();
}
