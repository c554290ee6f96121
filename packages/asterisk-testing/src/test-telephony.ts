import { randomUUID } from 'node:crypto';
import { startAsteriskSimulator, type AsteriskSimulator, type Caller, type CallerOptions } from '@avp/asterisk-simulator';
import { AriTestClient } from './ari-test-client.ts';
import { AsteriskPhones } from './asterisk-phones.ts';
import { findAsterisk, startRealAsterisk, type RealAsterisk } from './real-asterisk.ts';

/** Which Asterisk a test runs against. */
export type TelephonyKind = 'simulator' | 'asterisk';

export interface TestCallOptions {
  /** The number dialled (the platform matches its numbers on it). */
  extension: string;
  callerNumber?: string;
  callerName?: string;
  callerOptions?: CallerOptions;
}

/**
 * An Asterisk for a test, whichever it is: the simulator, or a real Asterisk 23 with phones
 * driven over ARI (packages/asterisk-testing). Calls come in the same way (a Caller with the
 * same API and measurements), so a test body runs unchanged against both.
 */
export interface TestTelephony {
  readonly kind: TelephonyKind;
  /** ARI base URL (`http://127.0.0.1:<port>`) and credentials for the platform. */
  readonly url: string;
  readonly ariUser: string;
  readonly ariPassword: string;
  /** The Stasis app inbound calls enter (the platform's ARI_APP). */
  readonly ariApp: string;
  /** ARI_TEL_DIAL_TEMPLATE that reaches this telephony's test callees. */
  readonly telDialTemplate: string;
  /** The dial string of a `connect` to the test callee `name` (type `endpoint`). */
  endpointFor(name: string): string;
  placeCall(options: TestCallOptions): Caller;
  /** The next callee the platform dials (answers by itself). */
  nextOutboundCall(timeoutMs?: number): Promise<Caller>;
  /** Resolves once the platform's Stasis app is connected. */
  waitForApp(timeoutMs?: number): Promise<void>;
  /** What exists in Asterisk now (the phones' own channels and bridges excluded). */
  channels(): Promise<{ id: string; name: string; state: string }[]>;
  bridges(): Promise<{ id: string; channels: string[] }[]>;
  /**
   * Asterisk dies (kill -9) and starts again on the same ports: every call is gone without a
   * hang-up event. The simulator is closed and started again on its port.
   */
  restart(): Promise<void>;
  readonly simulator?: AsteriskSimulator;
  readonly asterisk?: RealAsterisk;
  close(): Promise<void>;
}

/** Whether a real Asterisk can run here (its tests skip with the reason otherwise; CI fails instead). */
export function realAsteriskSkipReason(): string | undefined {
  const found = findAsterisk();
  return found.available ? undefined : found.reason;
}

export async function startTestTelephony(kind: TelephonyKind, options: { ariApp: string; ariUser?: string; ariPassword?: string }): Promise<TestTelephony> {
  return kind === 'simulator' ? startSimulatorTelephony(options) : startAsteriskTelephony(options);
}

async function startSimulatorTelephony(options: { ariApp: string; ariUser?: string; ariPassword?: string }): Promise<TestTelephony> {
  const ariUser = options.ariUser ?? 'asterisk';
  const ariPassword = options.ariPassword ?? 'asterisk';
  // The cache directory of a test Asterisk (`/tmp/avp-asterisk-XXXXXX/cache`): the simulator
  // emulates Asterisk's URI-length limit on `sound:http://` playback with the same length.
  const start = (ariPort = 0) => startAsteriskSimulator({ ariUser, ariPassword, ariPort, mediaCacheDirectoryLength: 30 });
  let simulator = await start();
  return {
    kind: 'simulator',
    url: simulator.url,
    ariUser,
    ariPassword,
    ariApp: options.ariApp,
    telDialTemplate: 'PJSIP/{target}',
    endpointFor: (name) => `PJSIP/${name}`,
    placeCall: (call) => simulator.placeCall({ app: options.ariApp, ...call }),
    nextOutboundCall: (timeoutMs) => simulator.nextOutboundCall(timeoutMs),
    waitForApp: (timeoutMs) => simulator.waitForApp(options.ariApp, timeoutMs),
    channels: async () => simulator.channels().map((channel) => ({ id: channel.id, name: channel.name, state: channel.state })),
    bridges: async () => [...simulator.asterisk.bridges.values()].map((bridge) => ({ id: bridge.id, channels: bridge.toJson().channels })),
    async restart() {
      const port = simulator.port;
      await simulator.close();
      simulator = await start(port);
    },
    get simulator() {
      return simulator;
    },
    close: () => simulator.close(),
  };
}

/** The test callees' context: a `connect` dials Local/<name>@avp-test-callee/n and the phones answer. */
function calleeDialplan(phonesApp: string): string {
  return [
    '[avp-test-callee]',
    ...['_X.', '_+X.', '_[a-zA-Z].'].map((pattern) => `exten => ${pattern},1,Stasis(${phonesApp},callee,\${EXTEN})\n same => n,Hangup()`),
    '',
  ].join('\n');
}

async function startAsteriskTelephony(options: { ariApp: string; ariUser?: string; ariPassword?: string }): Promise<TestTelephony> {
  const found = findAsterisk();
  if (!found.available) throw new Error(found.reason);
  const phonesApp = `phones-${randomUUID().slice(0, 8)}`;
  const asterisk = await startRealAsterisk({
    installation: found.installation,
    ariApp: options.ariApp,
    ariUser: options.ariUser ?? 'asterisk',
    ariPassword: options.ariPassword ?? 'asterisk',
    extraDialplan: calleeDialplan(phonesApp),
  });
  let phones: AsteriskPhones;
  try {
    phones = await AsteriskPhones.start({ url: asterisk.url, user: asterisk.ariUser, password: asterisk.ariPassword }, phonesApp);
  } catch (error) {
    await asterisk.stop();
    throw error;
  }
  const ari = new AriTestClient(asterisk.url, asterisk.ariUser, asterisk.ariPassword, options.ariApp);
  const ownChannel = (name: string, id: string) => id.startsWith('phone-') || /@avp-inbound-[0-9a-f]+;1$/.test(name) || /@avp-test-callee-[0-9a-f]+;2$/.test(name);
  return {
    kind: 'asterisk',
    url: asterisk.url,
    ariUser: asterisk.ariUser,
    ariPassword: asterisk.ariPassword,
    ariApp: options.ariApp,
    telDialTemplate: 'Local/{target}@avp-test-callee/n',
    endpointFor: (name) => `Local/${name}@avp-test-callee/n`,
    placeCall: (call) => phones.placeCall(call),
    nextOutboundCall: (timeoutMs) => phones.nextOutboundCall(timeoutMs),
    async waitForApp(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const apps = await ari.request<{ name: string }[]>('GET', '/applications');
        if (apps.some((app) => app.name === options.ariApp)) return;
        if (Date.now() > deadline) throw new Error(`Stasis application ${options.ariApp} did not connect within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async channels() {
      const channels = await ari.request<{ id: string; name: string; state: string }[]>('GET', '/channels');
      return channels.filter((channel) => !ownChannel(channel.name, channel.id)).map(({ id, name, state }) => ({ id, name, state }));
    },
    async bridges() {
      const bridges = await ari.request<{ id: string; channels: string[] }[]>('GET', '/bridges');
      return bridges.filter((bridge) => !bridge.id.startsWith('phone-')).map(({ id, channels }) => ({ id, channels }));
    },
    async restart() {
      await asterisk.restart({ hard: true });
      await phones.reconnect();
    },
    asterisk,
    async close() {
      await phones.close();
      await asterisk.stop();
    },
  };
}
