import { createLogger, loadConfigOrExit, startPlatform } from '@avp/shared';
import { createPipelineManager, serviceName } from './app.ts';
import { pipelineManagerEnvironmentSchema } from './config.ts';

const environment = loadConfigOrExit(serviceName, pipelineManagerEnvironmentSchema);
const logger = createLogger({ name: serviceName, level: environment.LOG_LEVEL });

try {
  await startPlatform({
    services: [(context) => createPipelineManager(context, { mediaHost: environment.RTP_ADDRESS, vadEngine: environment.VAD_ENGINE })],
    environment,
    logger,
  });
} catch (error) {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
}
