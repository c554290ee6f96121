import { createLogger, loadConfigOrExit } from '@avp/shared';
import { parseWebSocketClients, simulatorEnvironmentSchema } from './config.ts';
import { startAsteriskSimulator } from './simulator.ts';

const config = loadConfigOrExit('asterisk-simulator', simulatorEnvironmentSchema);
const logger = createLogger({ name: 'asterisk-simulator', level: config.LOG_LEVEL });

const simulator = await startAsteriskSimulator({
  ariPort: config.ARI_PORT,
  host: config.ARI_HOST,
  ariUser: config.ARI_USER,
  ariPassword: config.ARI_PASSWORD,
  rtpAddress: config.RTP_ADDRESS,
  soundsDirectory: config.SOUNDS_DIR,
  websocketClients: parseWebSocketClients(config.WEBSOCKET_CLIENTS),
  logger,
});
logger.info({ url: `${simulator.url}/ari`, user: config.ARI_USER }, 'Asterisk simulator listening (ARI)');

let stopping = false;
const stop = (signal: string) => {
  if (stopping) process.exit(1);
  stopping = true;
  logger.info({ signal }, 'stopping');
  simulator.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
