import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, env, OutboundPolicy, outboundEnvironmentSchema, rateLimitEnvironmentSchema, standaloneEnvironmentSchema } from '@avp/shared';
import { z } from 'zod';
import type { AiManagerOptions } from './app.ts';
import { billingRateOverridesSchema, mergeBillingRates, toMicroUnits } from './domain/billing/billing-rates.ts';

/** A 32-byte key as 64 hex characters or base64 (44 characters). */
export const encryptionKeySchema = z.string().refine(
  (value) => {
    const trimmed = value.trim();
    if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return true;
    return /^[A-Za-z0-9+/=_-]+$/.test(trimmed) && Buffer.from(trimmed, 'base64').length === 32;
  },
  { message: 'must be 32 bytes as 64 hex characters or base64 (openssl rand -base64 32)' },
);

/** An SMTP server URL: smtp:// or smtps:// with a host. */
const smtpUrlSchema = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'must be smtp://[user:pass@]host[:port] or smtps://[user:pass@]host[:port]' },
);

/** An amount of currency units (`10`, `0.01`; micro-units are 1/1,000,000 of one). */
const unitsSchema = z.coerce.number().min(-1e9).max(1e9);

/** `BILLING_RATES`: JSON merged over the built-in rates, `{"<provider>": {"llm_input_per_1m_tokens": 0.5, ...}}`. */
const billingRatesSchema = z
  .string()
  .default('')
  .transform((text, context) => {
    if (text.trim() === '') return {};
    try {
      return JSON.parse(text) as unknown;
    } catch {
      context.addIssue({ code: 'custom', message: 'must be a JSON object, {"<provider>": {"llm_input_per_1m_tokens": 0.5}}' });
      return z.NEVER;
    }
  })
  .pipe(billingRateOverridesSchema);

/** ai-manager's own settings; shared by its standalone entry point and the one-process mode. */
export const aiManagerSettingsSchema = z.object({
  /** Guards the admin API (customers, access keys); unset = admin API refuses every request. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Encrypts AI engine keys at rest (AES-256-GCM). */
  ENGINE_KEY_ENCRYPTION_KEY: encryptionKeySchema.optional(),
  /** Per-key rate limit (shared with flow-manager): RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST. */
  ...rateLimitEnvironmentSchema.shape,
  /** Internal hosts and ranges webhooks may reach anyway (development, tests). */
  ...outboundEnvironmentSchema.shape,
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().positive().default(10),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().positive().default(1000),
  WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().positive().default(600_000),
  WEBSOCKET_HEARTBEAT_MS: z.coerce.number().int().positive().default(30_000),
  /** How often open WebSocket connections' keys are checked again (the backstop of revocation; 0 = off). */
  WEBSOCKET_KEY_CHECK_MS: z.coerce.number().int().min(0).default(5000),
  /** How long published events are kept for WebSocket clients that resume with `since` (0 = no replay). */
  EVENT_REPLAY_WINDOW_SECONDS: z.coerce.number().int().min(0).max(7 * 24 * 3600).default(300),
  /** The most events one resume replays; a client further behind is told the window was exceeded. */
  EVENT_REPLAY_MAX_EVENTS: z.coerce.number().int().positive().max(1_000_000).default(10_000),
  /** Billing (amounts in currency units, 1 unit = 1,000,000 micro-units): what a new account starts with. */
  BILLING_INITIAL_BALANCE: unitsSchema.default(10),
  /** The balance a session needs to start (below it: 402 INSUFFICIENT_BALANCE). */
  BILLING_MINIMUM_BALANCE: unitsSchema.default(0.01),
  /** A live session whose usage charge leaves the balance below this says goodbye and ends. */
  BILLING_CUTOFF_BALANCE: unitsSchema.default(0),
  /** Rates per provider merged over the built-in ones (JSON; see the README). */
  BILLING_RATES: billingRatesSchema,
  BILLING_CURRENCY: z.string().trim().min(1).max(10).default('USD'),
  /** What the AI says before a session ends for lack of balance. */
  BILLING_GOODBYE_TEXT: z.string().trim().min(1).max(500).optional(),
  /** send_email: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://user:pass@host:465`; unset = no e-mail. */
  SMTP_URL: smtpUrlSchema.optional(),
  /** The sender of send_email's e-mails (`ai@example.com` or `Example AI <ai@example.com>`); required with SMTP_URL. */
  SMTP_FROM: z.string().trim().min(3).optional(),
  SMTP_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** send_message: a Twilio-compatible SMS API; the tool is on when the account, token and sender are set. */
  SMS_API_URL: z.url({ protocol: /^https?$/ }).default('https://api.twilio.com'),
  SMS_ACCOUNT_SID: z.string().trim().min(1).optional(),
  SMS_AUTH_TOKEN: z.string().trim().min(1).optional(),
  /** The number (E.164) or sender id texts are sent from. */
  SMS_FROM: z.string().trim().min(1).optional(),
  SMS_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** How often the pipeline watchdog checks that live sessions' pipeline-manager processes still run them (0 = off). */
  PIPELINE_CHECK_INTERVAL_MS: z.coerce.number().int().min(0).default(2000),
  /**
   * How long a pipeline must keep failing the watchdog's checks before its session is ended as
   * lost: longer than a RabbitMQ restart takes to bring the instance queues back.
   */
  PIPELINE_LOST_AFTER_MS: z.coerce.number().int().min(0).default(10_000),
  /**
   * Crash resumption: how long a pipeline-manager's heartbeats must be missing (while other
   * instances are heard, and it does not answer on its own queue) before another instance takes
   * its sessions over (0 = off: only the watchdog above, which ends such sessions).
   */
  PIPELINE_TAKEOVER_AFTER_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** What a resumed session says first when the caller's last turn was lost. */
  PIPELINE_RESUME_APOLOGY: z.string().trim().min(1).max(500).optional(),
  /**
   * How vendors (Twilio, LINE) reach this service from outside, e.g. `https://api.example.com`:
   * the base of the conversation channels' `webhook_url` and of the URL Twilio signs. Unset:
   * each request's own scheme and host (right only when nothing in between rewrites them).
   */
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * flow-manager's public API (`http://flow-manager:8081`), where the tools of the MCP endpoint
   * (`/v1.0/mcp`) send flow, number, call, activeflow and recording requests. Unset: the same
   * server as ai-manager's routes (the one-process mode).
   */
  FLOW_MANAGER_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Where pipeline-manager reaches this instance for web sessions' audio (ws://host:port); unset: the address the browser's connection arrived at. */
  WEB_SESSION_RELAY_URL: z.url({ protocol: /^wss?$/ }).optional(),
  /** Shortest time between a change of a live voice session and a message sent into it (POST /v1.0/aimessages). */
  AICALL_SEND_COOLDOWN_SECONDS: z.coerce.number().min(0).default(3),
  /** A conversation's (SMS, LINE) AIcall with no message for this long is ended; the next message starts a new one. */
  AICALL_CONVERSATION_IDLE_TIMEOUT_HOURS: z.coerce.number().positive().max(8760).default(24),
  /** The longest a text answer may take (LLM requests and tool calls together) before the sender is told there is trouble. */
  TEXT_ANSWER_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(150_000),
  /** Longest an ai_task may run before its flow goes on without it. */
  AICALL_TASK_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  /** The recogniser live transcriptions use (`POST /v1.0/transcribes`): any stt_type pipeline-manager knows. */
  TRANSCRIBE_STT_TYPE: z.string().trim().min(1).max(100).default('deepgram'),
  /**
   * The engine that writes summaries unless the request names an AI (`ai_id`): `local` (the
   * offline extractive summariser, no LLM) or `<provider>.<model>` like an AI's engine_model.
   */
  SUMMARY_ENGINE_MODEL: z
    .string()
    .trim()
    .max(200)
    .regex(/^(local|[a-z0-9-]+\.\S+)$/, 'must be local or <provider>.<model>')
    .default('local'),
  /** The key of SUMMARY_ENGINE_MODEL's provider; unset: pipeline-manager's environment key for it. */
  SUMMARY_ENGINE_KEY: z.string().trim().min(1).max(1000).optional(),
  /** How often summaries whose transcription ended without them being written (a crash in between) are looked for; 0 = only at start. */
  SUMMARY_SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
});
export type AiManagerSettings = z.infer<typeof aiManagerSettingsSchema>;

/** ai-manager's settings when it runs as its own process: the encryption key is required there. */
export const aiManagerEnvironmentSchema = standaloneEnvironmentSchema.extend({
  ...aiManagerSettingsSchema.shape,
  PORT: env.port(8080),
  ENGINE_KEY_ENCRYPTION_KEY: encryptionKeySchema,
});

export type AiManagerEnvironment = z.infer<typeof aiManagerEnvironmentSchema>;

/**
 * The service options for validated settings. Throws a ConfigError when the messaging
 * settings are half there (SMTP_URL without SMTP_FROM; some but not all of SMS_ACCOUNT_SID,
 * SMS_AUTH_TOKEN, SMS_FROM).
 */
export function aiManagerOptionsFromSettings(settings: AiManagerSettings): AiManagerOptions {
  const problems = messagingSettingsProblems(settings);
  if (problems.length > 0) throw new ConfigError('ai-manager', problems);
  return {
    ...messagingOptions(settings),
    adminToken: settings.ADMIN_TOKEN,
    engineKeyEncryptionKey: settings.ENGINE_KEY_ENCRYPTION_KEY,
    rateLimit: { perSecond: settings.RATE_LIMIT_PER_SECOND, burst: settings.RATE_LIMIT_BURST, authFailuresPerMinute: settings.AUTH_FAILURES_PER_MINUTE },
    webhooks: {
      timeoutMs: settings.WEBHOOK_TIMEOUT_MS,
      maxAttempts: settings.WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: settings.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: settings.WEBHOOK_RETRY_MAX_MS,
    },
    outbound: new OutboundPolicy(settings.OUTBOUND_ALLOWED_HOSTS),
    websocket: { heartbeatMs: settings.WEBSOCKET_HEARTBEAT_MS, keyCheckMs: settings.WEBSOCKET_KEY_CHECK_MS },
    eventReplay: { windowMs: settings.EVENT_REPLAY_WINDOW_SECONDS * 1000, maxEvents: settings.EVENT_REPLAY_MAX_EVENTS },
    billing: {
      initialBalance: toMicroUnits(settings.BILLING_INITIAL_BALANCE),
      minimumBalance: toMicroUnits(settings.BILLING_MINIMUM_BALANCE),
      cutoffBalance: toMicroUnits(settings.BILLING_CUTOFF_BALANCE),
      rates: mergeBillingRates(settings.BILLING_RATES),
      currency: settings.BILLING_CURRENCY,
      ...(settings.BILLING_GOODBYE_TEXT ? { goodbyeText: settings.BILLING_GOODBYE_TEXT } : {}),
    },
    pipelineWatchdog: { intervalMs: settings.PIPELINE_CHECK_INTERVAL_MS, lostAfterMs: settings.PIPELINE_LOST_AFTER_MS },
    pipelineTakeover: {
      ...(settings.PIPELINE_TAKEOVER_AFTER_MS === 0 ? { tickMs: 0 } : { silentAfterMs: settings.PIPELINE_TAKEOVER_AFTER_MS }),
      ...(settings.PIPELINE_RESUME_APOLOGY ? { apology: settings.PIPELINE_RESUME_APOLOGY } : {}),
    },
    sendCooldownMs: settings.AICALL_SEND_COOLDOWN_SECONDS * 1000,
    transcribes: { sttType: settings.TRANSCRIBE_STT_TYPE },
    summaries: {
      engine: { engine_model: settings.SUMMARY_ENGINE_MODEL, ...(settings.SUMMARY_ENGINE_KEY ? { engine_key: settings.SUMMARY_ENGINE_KEY } : {}) },
      sweepIntervalMs: settings.SUMMARY_SWEEP_INTERVAL_MS,
    },
    textSessions: { idleTimeoutMs: settings.AICALL_CONVERSATION_IDLE_TIMEOUT_HOURS * 3_600_000, turnTimeoutMs: settings.TEXT_ANSWER_TIMEOUT_MS },
    taskSessions: { timeoutMs: settings.AICALL_TASK_TIMEOUT_SECONDS * 1000 },
    ...(settings.PUBLIC_URL ? { publicUrl: settings.PUBLIC_URL.replace(/\/+$/, '') } : {}),
    ...(settings.FLOW_MANAGER_API_URL ? { flowManagerApiUrl: settings.FLOW_MANAGER_API_URL.replace(/\/+$/, '') } : {}),
    ...(settings.WEB_SESSION_RELAY_URL ? { webSessionRelayUrl: settings.WEB_SESSION_RELAY_URL.replace(/\/+$/, '') } : {}),
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

/** What is missing from half-configured messaging settings. */
function messagingSettingsProblems(settings: AiManagerSettings): string[] {
  const problems: string[] = [];
  if (settings.SMTP_URL && !settings.SMTP_FROM) problems.push('SMTP_FROM: required when SMTP_URL is set (unset)');
  if (!settings.SMTP_URL && settings.SMTP_FROM) problems.push('SMTP_URL: required when SMTP_FROM is set (unset)');
  const sms = { SMS_ACCOUNT_SID: settings.SMS_ACCOUNT_SID, SMS_AUTH_TOKEN: settings.SMS_AUTH_TOKEN, SMS_FROM: settings.SMS_FROM };
  const given = Object.values(sms).filter(Boolean).length;
  if (given > 0 && given < 3) {
    for (const [name, value] of Object.entries(sms)) if (!value) problems.push(`${name}: required with the other SMS_ settings (unset)`);
  }
  return problems;
}

/** send_email and send_message settings, for the tools whose service is configured. */
function messagingOptions(settings: AiManagerSettings): Pick<AiManagerOptions, 'email' | 'sms'> {
  return {
    ...(settings.SMTP_URL && settings.SMTP_FROM ? { email: { url: settings.SMTP_URL, from: settings.SMTP_FROM, timeoutMs: settings.SMTP_TIMEOUT_MS } } : {}),
    ...(settings.SMS_ACCOUNT_SID && settings.SMS_AUTH_TOKEN && settings.SMS_FROM
      ? {
          sms: {
            apiUrl: settings.SMS_API_URL,
            accountSid: settings.SMS_ACCOUNT_SID,
            authToken: settings.SMS_AUTH_TOKEN,
            from: settings.SMS_FROM,
            timeoutMs: settings.SMS_TIMEOUT_MS,
          },
        }
      : {}),
  };
}
