import type { PlaybackOwner } from '../model/asterisk.ts';
import { Playback } from '../model/playback.ts';
import type { SimulatorContext } from '../simulator-context.ts';
import { AriError, type Parameters, type Router } from './router.ts';
import { randomUUID } from 'node:crypto';

/**
 * Creates and queues a playback for POST /channels/{id}/play and /bridges/{id}/play. Like
 * Asterisk it answers at once (state queued); media is read or fetched when its turn comes.
 */
export function startPlayback(
  context: SimulatorContext,
  parameters: Parameters,
  pathPlaybackId: string | undefined,
  owner: PlaybackOwner,
  targetUri: string,
): Playback {
  const media = parameters.list('media');
  if (media.length === 0) throw new AriError(400, 'media: Missing required field');
  const id = pathPlaybackId ?? parameters.string('playbackId') ?? randomUUID();
  if (context.asterisk.playbacks.has(id)) throw new AriError(409, 'Playback with given ID already exists');
  const language = parameters.string('lang') || 'en';
  const resolve = (uri: string) => context.asterisk.media.resolve(uri, language);
  const playback = new Playback(id, media, resolve, targetUri, language, parameters.number('offsetms', 0));
  playback.skipMs = parameters.number('skipms', 3000);
  context.asterisk.queuePlayback(playback, owner);
  return playback;
}

/** /ari/playbacks: get, stop, control. */
export function registerPlaybackRoutes(router: Router, context: SimulatorContext): void {
  const find = (id: string | undefined): Playback => {
    const entry = id === undefined ? undefined : context.asterisk.playbacks.get(id);
    if (!entry) throw new AriError(404, 'Playback not found');
    return entry.playback;
  };
  router.add('GET', '/playbacks/{playbackId}', (params) => ({ status: 200, body: find(params.playbackId).toJson() }));
  router.add('DELETE', '/playbacks/{playbackId}', (params) => {
    context.asterisk.finishPlayback(find(params.playbackId), 'done');
    return { status: 204 };
  });
  router.add('POST', '/playbacks/{playbackId}/control', (params, parameters) => {
    const playback = find(params.playbackId);
    const operation = parameters.required('operation', 'operation: Missing required field');
    switch (operation) {
      case 'pause':
        if (playback.state === 'playing') playback.state = 'paused';
        break;
      case 'unpause':
        if (playback.state === 'paused') playback.state = 'playing';
        break;
      case 'restart':
        playback.restart();
        break;
      case 'reverse':
        playback.skip(-playback.skipMs);
        break;
      case 'forward':
        playback.skip(playback.skipMs);
        break;
      default:
        throw new AriError(400, `Invalid operation ${operation}`);
    }
    return { status: 204 };
  });
}


