import { env, standaloneEnvironmentSchema } from '@avp/shared';
import { z } from 'zod';

/** pipeline-manager's settings when it runs as its own process. */
export const pipelineManagerEnvironmentSchema = standaloneEnvironmentSchema.extend({
  PORT: env.port(8082),
  /** Address the RTP sockets bind to and tell Asterisk to send to; Asterisk must reach it. */
  RTP_ADDRESS: z.string().min(1).default('127.0.0.1'),
  /** Voice activity detection: silero (default), webrtc or energy. */
  VAD_ENGINE: z.enum(['silero', 'webrtc', 'energy']).default('silero'),
});

export type PipelineManagerEnvironment = z.infer<typeof pipelineManagerEnvironmentSchema>;
