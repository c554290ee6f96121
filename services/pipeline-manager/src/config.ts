import { env, standaloneEnvironmentSchema } from '@avp/shared';
import { z } from 'zod';
import type { PipelineManagerOptions } from './app.ts';

/** pipeline-manager's media settings, the same in a process of its own and in the one-process mode. */
export const pipelineManagerSettingsSchema = z.object({
  /** Address the RTP sockets bind to and tell Asterisk to send to; Asterisk must reach it. */
  RTP_ADDRESS: z.string().min(1).default('127.0.0.1'),
  /**
   * How a call's audio reaches the pipeline, unless the AI sets `media_transport`: `rtp`
   * (Asterisk sends RTP to RTP_ADDRESS) or `websocket` (the pipeline connects to Asterisk's
   * WebSocket media channel on the ARI port).
   */
  MEDIA_TRANSPORT: z.enum(['rtp', 'websocket']).default('rtp'),
  /** Voice activity detection: silero (default), webrtc or energy. */
  VAD_ENGINE: z.enum(['silero', 'webrtc', 'energy']).default('silero'),
  /** Reports to ai-manager this process holds at once while ai-manager or the broker is away. */
  REPORT_BUFFER_SIZE: z.coerce.number().int().positive().default(10_000),
  /** How long a report that fails transiently (timeout, no broker, ai-manager's 5xx) is retried. */
  REPORT_RETRY_FOR_MS: z.coerce.number().int().min(0).default(60_000),
  /** How often each pipeline checks with ai-manager that its AIcall is still live (0 = never). */
  LIVENESS_CHECK_INTERVAL_MS: z.coerce.number().int().min(0).default(5000),
  /** No audio from a call for this long makes its pipeline ask flow-manager whether the call is up, and end if not (0 = never). */
  MEDIA_TIMEOUT_MS: z.coerce.number().int().min(0).default(60_000),
  /**
   * How often this process publishes its heartbeat (its pipelines and their epochs), by which
   * ai-manager notices within about a second that it died and has another take its sessions over (0 = none).
   */
  HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(0).max(10_000).default(250),
  /** Text conversations: an LLM request with no output this long is tried again, then on the AI's fallback LLM. */
  TEXT_FIRST_OUTPUT_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  /** Text conversations: the longest one LLM request may take in all. */
  TEXT_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  /** Summaries: the longest the one LLM request that writes a summary may take. */
  SUMMARY_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
});

/** pipeline-manager's settings when it runs as its own process. */
export const pipelineManagerEnvironmentSchema = standaloneEnvironmentSchema.extend({
  PORT: env.port(8082),
  ...pipelineManagerSettingsSchema.shape,
});

export type PipelineManagerEnvironment = z.infer<typeof pipelineManagerEnvironmentSchema>;

/** The service's options from its settings. */
export function pipelineManagerOptionsFromSettings(settings: z.infer<typeof pipelineManagerSettingsSchema>): PipelineManagerOptions {
  return {
    mediaHost: settings.RTP_ADDRESS,
    mediaTransport: settings.MEDIA_TRANSPORT,
    vadEngine: settings.VAD_ENGINE,
    reports: { capacity: settings.REPORT_BUFFER_SIZE, retryForMs: settings.REPORT_RETRY_FOR_MS },
    liveness: { intervalMs: settings.LIVENESS_CHECK_INTERVAL_MS, mediaTimeoutMs: settings.MEDIA_TIMEOUT_MS },
    heartbeatIntervalMs: settings.HEARTBEAT_INTERVAL_MS,
    textTurns: { firstOutputTimeoutMs: settings.TEXT_FIRST_OUTPUT_TIMEOUT_MS, requestTimeoutMs: settings.TEXT_REQUEST_TIMEOUT_MS },
    summaries: { requestTimeoutMs: settings.SUMMARY_REQUEST_TIMEOUT_MS },
  };
}
