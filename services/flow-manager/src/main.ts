import { createLogger, loadConfigOrExit, startPlatform } from '@avp/shared';
import { createFlowManager, serviceName } from './app.ts';
import { ariSettingsFrom, flowManagerEnvironmentSchema, flowManagerOptionsFromSettings } from './config.ts';

const environment = loadConfigOrExit(serviceName, flowManagerEnvironmentSchema);
const logger = createLogger({ name: serviceName, level: environment.LOG_LEVEL });

try {
  const ari = ariSettingsFrom(environment);
  await startPlatform({ services: [(context) => createFlowManager(context, { ari, ...flowManagerOptionsFromSettings(environment) })], environment, logger });
} catch (error) {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
}
