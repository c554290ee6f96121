import type { SimulatorContext } from '../simulator-context.ts';
import { asteriskTimestamp } from '../model/time.ts';
import { AriError, type Router } from './router.ts';

/** The Asterisk version whose ARI behaviour the simulator follows (reported by /asterisk/info). */
export const SIMULATED_ASTERISK_VERSION = '23.4.1';

/** /ari/asterisk/info, /ari/asterisk/ping, /ari/applications. */
export function registerSystemRoutes(router: Router, context: SimulatorContext, startedAt: string): void {
  const { asterisk } = context;
  router.add('GET', '/asterisk/info', (_params, parameters) => {
    const info: Record<string, unknown> = {
      build: { os: 'Linux', kernel: 'simulated', machine: process.arch, options: 'OPTIONAL_API', date: startedAt, user: 'simulator' },
      system: { version: SIMULATED_ASTERISK_VERSION, entity_id: asterisk.asteriskId },
      config: { name: '', default_language: 'en', setid: { user: '', group: '' } },
      status: { startup_time: startedAt, last_reload_time: startedAt },
    };
    const only = parameters.list('only');
    if (only.length > 0) for (const key of Object.keys(info)) if (!only.includes(key)) delete info[key];
    return { status: 200, body: info };
  });
  router.add('GET', '/asterisk/ping', () => ({
    status: 200,
    body: { asterisk_id: asterisk.asteriskId, ping: 'pong', timestamp: asteriskTimestamp() },
  }));
  const application = (name: string) => ({
    name,
    // Every channel the application is subscribed to, in Stasis or not yet (a dial pending).
    channel_ids: [...asterisk.channels.values()].filter((channel) => channel.subscribedApps.has(name)).map((channel) => channel.id),
    bridge_ids: [...asterisk.bridges.values()].filter((bridge) => bridge.subscribedApps.has(name)).map((bridge) => bridge.id),
    endpoint_ids: [],
    device_names: [],
    events_allowed: [],
    events_disallowed: [],
  });
  router.add('GET', '/applications', () => ({ status: 200, body: asterisk.hub.applicationNames().map(application) }));
  router.add('GET', '/applications/{applicationName}', (params) => {
    const name = params.applicationName ?? '';
    if (!asterisk.hub.isRegistered(name)) throw new AriError(404, 'Application not found');
    return { status: 200, body: application(name) };
  });
}
