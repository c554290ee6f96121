import { aiManagerSettingsSchema } from '@avp/ai-manager';
import { ariEnvironmentSchema, flowManagerSettingsSchema } from '@avp/flow-manager';
import { pipelineManagerSettingsSchema } from '@avp/pipeline-manager';
import { commonEnvironmentSchema, env } from '@avp/shared';
import { z } from 'zod';

/**
 * The one-process mode: every service in this process. Without DATABASE_URL the data
 * lives in PGlite under DATA_DIR; without RABBITMQ_URL the services talk over the
 * in-process bus. It listens on 127.0.0.1 unless HOST says otherwise, since it is meant for
 * a developer's machine. ai-manager's settings apply too; ENGINE_KEY_ENCRYPTION_KEY may be
 * left out here (a key is then created in DATA_DIR). Without ARI_URL the built-in Asterisk
 * simulator answers calls (EMBEDDED_ASTERISK=false turns telephony off instead).
 */
export const oneProcessEnvironmentSchema = commonEnvironmentSchema.extend({
  ...aiManagerSettingsSchema.shape,
  ...ariEnvironmentSchema.shape,
  ...flowManagerSettingsSchema.shape,
  ...pipelineManagerSettingsSchema.shape,
  HOST: z.string().default('127.0.0.1'),
  /** Without ARI_URL, run the built-in Asterisk simulator (default true). */
  EMBEDDED_ASTERISK: env.boolean(true),
  /** ARI port of the built-in simulator (0 = any free port; the URL is logged). */
  EMBEDDED_ASTERISK_PORT: env.port(0),
});

export type OneProcessEnvironment = z.infer<typeof oneProcessEnvironmentSchema>;
