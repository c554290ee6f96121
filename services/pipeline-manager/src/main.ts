import { createLogger, loadConfigOrExit, startPlatform } from '@avp/shared';
import { createPipelineManager, serviceName } from './app.ts';
import { pipelineManagerEnvironmentSchema, pipelineManagerOptionsFromSettings } from './config.ts';

const environment = loadConfigOrExit(serviceName, pipelineManagerEnvironmentSchema);
const logger = createLogger({ name: serviceName, level: environment.LOG_LEVEL });

try {
  await startPlatform({
    services: [(context) => createPipelineManager(context, pipelineManagerOptionsFromSettings(environment))],
    environment,
    logger,
  });
} catch (error) {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
}
