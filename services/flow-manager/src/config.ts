import { env, OutboundPolicy, outboundEnvironmentSchema, rateLimitEnvironmentSchema, standaloneEnvironmentSchema, type OutboundAllowList } from '@avp/shared';
import { z } from 'zod';
import type { AriSettings, FlowManagerOptions } from './app.ts';
import { defaultRecordingDirectory, LocalRecordingStorage, recordingStorageFromUrl } from './domain/recordings/recording-storage.ts';

/**
 * How flow-manager reaches Asterisk. Without ARI_URL there is no telephony: flows still run
 * for API and text-message activeflows, and call actions fail with SERVICE_UNAVAILABLE.
 */
export const ariEnvironmentSchema = z.object({
  /** `http://host:8088`; unset = no Asterisk. */
  ARI_URL: z.url().optional(),
  ARI_USER: z.string().default('asterisk'),
  ARI_PASSWORD: z.string().default('asterisk'),
  /** The Stasis application (dialplan `Stasis(<app>)`). */
  ARI_APP: z.string().min(1).default('avp'),
  /** How Asterisk reaches this process for `talk` audio; default http://127.0.0.1:<PORT>. */
  MEDIA_BASE_URL: z.url().optional(),
  /** Dial string for `connect` to a phone number; `{target}` is replaced. */
  ARI_TEL_DIAL_TEMPLATE: z.string().includes('{target}').default('PJSIP/{target}'),
});

/**
 * flow-manager's own limits: the per-key rate limit (the same variables as ai-manager's) and
 * the internal hosts `play` media URLs may reach anyway (OUTBOUND_ALLOWED_HOSTS); and where
 * recordings are stored (RECORDING_STORAGE_URL).
 */
export const flowManagerSettingsSchema = z.object({
  ...rateLimitEnvironmentSchema.shape,
  ...outboundEnvironmentSchema.shape,
  /**
   * `file:///var/lib/avp/recordings` or `s3://bucket[/prefix]?endpoint=...&region=...&force_path_style=true`
   * (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); unset = DATA_DIR/recordings in
   * the one-process mode, a directory under the OS temp dir for flow-manager on its own.
   */
  RECORDING_STORAGE_URL: z
    .url({ protocol: /^(file|s3)$/, error: 'a file:// or s3:// URL' })
    .optional(),
});

/** flow-manager's settings when it runs as its own process. */
export const flowManagerEnvironmentSchema = standaloneEnvironmentSchema.extend({
  PORT: env.port(8081),
  ...ariEnvironmentSchema.shape,
  ...flowManagerSettingsSchema.shape,
});

/**
 * The rate limit, outbound policy and recording storage of validated settings; `dataDirectory`
 * (the one-process mode's DATA_DIR) holds recordings when RECORDING_STORAGE_URL is unset.
 */
export function flowManagerOptionsFromSettings(
  settings: {
    RATE_LIMIT_PER_SECOND: number;
    RATE_LIMIT_BURST: number;
    AUTH_FAILURES_PER_MINUTE?: number;
    OUTBOUND_ALLOWED_HOSTS: OutboundAllowList;
    RECORDING_STORAGE_URL?: string;
  },
  dataDirectory?: string,
): Pick<FlowManagerOptions, 'rateLimit' | 'outbound' | 'recordingStorage'> {
  return {
    rateLimit: { perSecond: settings.RATE_LIMIT_PER_SECOND, burst: settings.RATE_LIMIT_BURST, ...(settings.AUTH_FAILURES_PER_MINUTE === undefined ? {} : { authFailuresPerMinute: settings.AUTH_FAILURES_PER_MINUTE }) },
    outbound: new OutboundPolicy(settings.OUTBOUND_ALLOWED_HOSTS),
    recordingStorage: settings.RECORDING_STORAGE_URL
      ? recordingStorageFromUrl(settings.RECORDING_STORAGE_URL)
      : new LocalRecordingStorage(defaultRecordingDirectory(dataDirectory)),
  };
}

export type FlowManagerEnvironment = z.infer<typeof flowManagerEnvironmentSchema>;

/** The ARI settings of an environment, or undefined without ARI_URL. */
export function ariSettingsFrom(environment: z.infer<typeof ariEnvironmentSchema> & { PORT: number }): AriSettings | undefined {
  if (!environment.ARI_URL) return undefined;
  return {
    connection: { url: environment.ARI_URL, user: environment.ARI_USER, password: environment.ARI_PASSWORD, app: environment.ARI_APP },
    mediaBaseUrl: environment.MEDIA_BASE_URL ?? `http://127.0.0.1:${environment.PORT}`,
    telDialTemplate: environment.ARI_TEL_DIAL_TEMPLATE,
  };
}
