import { createLogger, loadConfigOrExit } from '@avp/shared';
import { oneProcessEnvironmentSchema } from './config.ts';
import { startOneProcess } from './start-one-process.ts';

const environment = loadConfigOrExit('one-process', oneProcessEnvironmentSchema);
const logger = createLogger({ name: 'platform', level: environment.LOG_LEVEL });

try {
  const platform = await startOneProcess(environment, logger);
  const database = environment.DATABASE_URL ? 'PostgreSQL' : `PGlite in ${environment.DATA_DIR}`;
  const bus = environment.RABBITMQ_URL ? 'RabbitMQ' : 'the in-process bus';
  logger.info(`Platform ready at ${platform.url} (data: ${database}; messages: ${bus}). Press Ctrl+C to stop.`);
  logger.info(`Web console: ${platform.url}/console (sign in with an access key; the development key is in ${environment.DATA_DIR}/development-access-key)`);
} catch (error) {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
}
