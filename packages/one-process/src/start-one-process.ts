import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { aiManagerOptionsFromSettings, createAiManager, loadOrCreateLocalEncryptionKey } from '@avp/ai-manager';
import { randomBytes } from 'node:crypto';
import { startAsteriskSimulator, type AsteriskSimulator } from '@avp/asterisk-simulator';
import { ariSettingsFrom, createFlowManager, flowManagerOptionsFromSettings, type AriSettings } from '@avp/flow-manager';
import { createPipelineManager, pipelineManagerOptionsFromSettings, type PipelineManagerOptions } from '@avp/pipeline-manager';
import { startPlatform, type Logger, type RunningPlatform, type ServiceFactory } from '@avp/shared';
import type { OneProcessEnvironment } from './config.ts';

/**
 * The services of the platform, in the order they start. ai-manager gets its settings from
 * the environment; without ENGINE_KEY_ENCRYPTION_KEY it keeps a generated key in DATA_DIR,
 * and on the first start it creates a development customer whose access key it prints and
 * writes to `DATA_DIR/development-access-key`.
 */
export async function platformServices(
  environment: OneProcessEnvironment,
  ari?: AriSettings,
  pipelineManager: PipelineManagerOptions = {},
): Promise<ServiceFactory[]> {
  await mkdir(environment.DATA_DIR, { recursive: true });
  const engineKeyEncryptionKey =
    environment.ENGINE_KEY_ENCRYPTION_KEY ?? (await loadOrCreateLocalEncryptionKey(environment.DATA_DIR));
  const aiManagerOptions = {
    ...aiManagerOptionsFromSettings(environment),
    engineKeyEncryptionKey,
    developmentCustomer: { keyFile: path.join(environment.DATA_DIR, 'development-access-key') },
  };
  return [(context) => createAiManager(context, aiManagerOptions), (context) => createFlowManager(context, { ari, ...flowManagerOptionsFromSettings(environment, environment.DATA_DIR) }), (context) => createPipelineManager(context, { ...pipelineManagerOptionsFromSettings(environment), ...pipelineManager })];
}

/** The running platform, with the built-in Asterisk simulator when there is one. */
export interface OneProcessPlatform extends RunningPlatform {
  asterisk: AsteriskSimulator | undefined;
}

/** Starts the whole platform in this process (see config.ts for what is embedded). */
export async function startOneProcess(
  environment: OneProcessEnvironment,
  logger: Logger,
  options: { handleSignals?: boolean; /** pipeline-manager's options (tests: provider doubles). */ pipelineManager?: PipelineManagerOptions } = {},
): Promise<OneProcessPlatform> {
  let asterisk: AsteriskSimulator | undefined;
  let ari = ariSettingsFrom(environment);
  let platformUrl: string | undefined;
  if (!ari && environment.EMBEDDED_ASTERISK) {
    const password = randomBytes(12).toString('hex');
    asterisk = await startAsteriskSimulator({ ariPort: environment.EMBEDDED_ASTERISK_PORT, ariUser: 'asterisk', ariPassword: password, host: '127.0.0.1' });
    logger.info({ ari: asterisk.url, app: environment.ARI_APP }, 'built-in Asterisk simulator started');
    ari = {
      connection: { url: asterisk.url, user: 'asterisk', password, app: environment.ARI_APP },
      // Known once the server listens (PORT may be 0).
      mediaBaseUrl: () => environment.MEDIA_BASE_URL ?? platformUrl ?? `http://127.0.0.1:${environment.PORT}`,
    };
  }
  try {
    const services = await platformServices(environment, ari, options.pipelineManager);
    const platform = await startPlatform({ services, environment, logger, handleSignals: options.handleSignals });
    platformUrl = platform.url;
    const simulator = asterisk;
    const stop = platform.stop;
    return {
      ...platform,
      asterisk: simulator,
      async stop() {
        await stop();
        await simulator?.close();
      },
    };
  } catch (error) {
    await asterisk?.close();
    throw error;
  }
}
