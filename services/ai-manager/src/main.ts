import { ConfigError, createLogger, loadConfigOrExit, startPlatform } from '@avp/shared';
import { createAiManager, serviceName } from './app.ts';
import { aiManagerEnvironmentSchema, aiManagerOptionsFromSettings } from './config.ts';

const environment = loadConfigOrExit(serviceName, aiManagerEnvironmentSchema);
const logger = createLogger({ name: serviceName, level: environment.LOG_LEVEL });
const options = (() => {
  try {
    return aiManagerOptionsFromSettings(environment);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(78); // Like loadConfigOrExit.
  }
})();

try {
  await startPlatform({ services: [(context) => createAiManager(context, options)], environment, logger });
} catch (error) {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
}
