import { randomUUID } from 'node:crypto';
import type { Bridge } from '../model/bridge.ts';
import type { Channel } from '../model/channel.ts';
import type { SimulatorContext } from '../simulator-context.ts';
import { startPlayback } from './playback-routes.ts';
import { AriError, type Parameters, type Router } from './router.ts';

/** /ari/bridges: list, create, get, destroy, addChannel, removeChannel, play. */
export function registerBridgeRoutes(router: Router, context: SimulatorContext): void {
  const { asterisk } = context;
  const find = (id: string | undefined): Bridge => {
    const bridge = id === undefined ? undefined : asterisk.bridges.get(id);
    if (!bridge) throw new AriError(404, 'Bridge not found');
    return bridge;
  };
  const channelsOf = (parameters: Parameters): Channel[] => {
    const ids = parameters.list('channel');
    if (ids.length === 0) throw new AriError(400, 'channel: Missing required field');
    return ids.map((id) => {
      const channel = asterisk.channels.get(id);
      if (!channel) throw new AriError(400, 'Channel not found');
      return channel;
    });
  };
  const create = (pathId: string | undefined, parameters: Parameters) => {
    const id = pathId ?? parameters.string('bridgeId') ?? randomUUID();
    const existing = asterisk.bridges.get(id);
    if (existing) return { status: 200, body: existing.toJson() };
    const types = parameters.list('type');
    const type = types.find((value) => value === 'mixing' || value === 'holding') ?? 'mixing';
    const bridge = asterisk.createBridge(id, parameters.string('name') ?? '', type);
    return { status: 200, body: bridge.toJson() };
  };

  router.add('GET', '/bridges', () => ({ status: 200, body: [...asterisk.bridges.values()].map((bridge) => bridge.toJson()) }));
  router.add('POST', '/bridges', (_params, parameters) => create(undefined, parameters));
  router.add('POST', '/bridges/{bridgeId}', (params, parameters) => create(params.bridgeId, parameters));
  router.add('GET', '/bridges/{bridgeId}', (params) => ({ status: 200, body: find(params.bridgeId).toJson() }));
  router.add('DELETE', '/bridges/{bridgeId}', (params) => {
    asterisk.destroyBridge(find(params.bridgeId));
    return { status: 204 };
  });

  router.add('POST', '/bridges/{bridgeId}/addChannel', (params, parameters) => {
    const bridge = find(params.bridgeId);
    const channels = channelsOf(parameters);
    for (const channel of channels) {
      if (!channel.inStasis) throw new AriError(422, 'Channel not in Stasis application');
      // A recording's rule (res_stasis_recording) keeps its channel out of bridges until it finishes.
      if (channel.recordings.length > 0) throw new AriError(409, `Channel ${channel.id} currently recording`);
    }
    for (const channel of channels) {
      asterisk.addToBridge(bridge, channel, {
        muted: parameters.boolean('mute', false),
        absorbDtmf: parameters.boolean('absorbDTMF', false),
        role: parameters.string('role') ?? '',
      });
    }
    return { status: 204 };
  });

  router.add('POST', '/bridges/{bridgeId}/removeChannel', (params, parameters) => {
    const bridge = find(params.bridgeId);
    const channels = channelsOf(parameters);
    for (const channel of channels) {
      if (!bridge.has(channel)) throw new AriError(422, 'Channel not in this bridge');
    }
    for (const channel of channels) asterisk.removeFromBridge(bridge, channel);
    return { status: 204 };
  });

  const play = (bridgeId: string | undefined, playbackId: string | undefined, parameters: Parameters) => {
    const bridge = find(bridgeId);
    const playback = startPlayback(context, parameters, playbackId, { kind: 'bridge', bridge }, `bridge:${bridge.id}`);
    return { status: 201, body: playback.toJson() };
  };
  router.add('POST', '/bridges/{bridgeId}/play', (params, parameters) => play(params.bridgeId, undefined, parameters));
  router.add('POST', '/bridges/{bridgeId}/play/{playbackId}', (params, parameters) => play(params.bridgeId, params.playbackId, parameters));
}
