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
});

/** pipeline-manager's settings when it runs as its own process. */
export const pipelineManagerEnvironmentSchema = standaloneEnvironmentSchema.extend({
  PORT: env.port(8082),
  ...pipelineManagerSettingsSchema.shape,
});

export type PipelineManagerEnvironment = z.infer<typeof pipelineManagerEnvironmentSchema>;

/** The service's options from its settings. */
export function pipelineManagerOptionsFromSettings(settings: z.infer<typeof pipelineManagerSettingsSchema>): PipelineManagerOptions {
  return { mediaHost: settings.RTP_ADDRESS, mediaTransport: settings.MEDIA_TRANSPORT, vadEngine: settings.VAD_ENGINE };
}
