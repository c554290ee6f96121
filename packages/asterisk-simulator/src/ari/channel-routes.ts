import { HANGUP_REASONS, SOFT_HANGUP_EXPLICIT } from '../model/causes.ts';
import type { Channel } from '../model/channel.ts';
import { SilentFarEnd } from '../model/far-end.ts';
import { nextChannelSuffix, nextUniqueId } from '../model/time.ts';
import { findChannel, parseCallerId, requireStasis, type SimulatorContext } from '../simulator-context.ts';
import { createExternalMedia } from './external-media.ts';
import { checkOriginatorAndFormats } from './originate-options.ts';
import { startPlayback } from './playback-routes.ts';
import { AriError, type Parameters, type Router } from './router.ts';

/** Asterisk numbers its snoop channels with a counter of their own, from 00000000. */
let snoopSequence = 0;

/** /ari/channels: originate, get, hangup, answer, ring, dtmf, play, variables, snoop, externalMedia. */
export function registerChannelRoutes(router: Router, context: SimulatorContext): void {
  const { asterisk } = context;

  router.add('GET', '/channels', () => ({ status: 200, body: asterisk.listedChannels().map((channel) => channel.toJson()) }));
  router.add('POST', '/channels', (_params, parameters) => originate(context, parameters, undefined));
  router.add('POST', '/channels/externalMedia', (_params, parameters) => createExternalMedia(context, parameters));
  router.add('POST', '/channels/create', (_params, parameters) => create(context, parameters));
  router.add('POST', '/channels/{channelId}/dial', (params, parameters) => dialCreated(context, params.channelId, parameters));
  router.add('POST', '/channels/{channelId}', (params, parameters) => originate(context, parameters, params.channelId));
  // An ended snoop not destroyed yet is still there to read (not to act on).
  router.add('GET', '/channels/{channelId}', (params) => {
    const ended = params.channelId === undefined ? undefined : asterisk.endedSnoops.get(params.channelId);
    return { status: 200, body: (ended ?? findChannel(context, params.channelId)).toJson() };
  });

  router.add('DELETE', '/channels/{channelId}', (params, parameters) => {
    const channel = findChannel(context, params.channelId);
    const reasonCode = parameters.string('reason_code');
    const reason = parameters.string('reason');
    let cause = 16;
    if (reasonCode !== undefined && reasonCode !== '') cause = Number(reasonCode);
    else if (reason !== undefined && reason !== '') {
      const mapped = HANGUP_REASONS[reason];
      if (mapped === undefined) throw new AriError(400, 'Invalid reason for hangup provided');
      cause = mapped;
    }
    if (!Number.isInteger(cause)) throw new AriError(400, 'Invalid reason for hangup provided');
    asterisk.hangup(channel, { cause, soft: true, requestCause: SOFT_HANGUP_EXPLICIT });
    return { status: 204 };
  });

  router.add('POST', '/channels/{channelId}/answer', (params) => {
    const channel = findChannel(context, params.channelId);
    requireStasis(channel);
    asterisk.answer(channel);
    return { status: 204 };
  });

  router.add('POST', '/channels/{channelId}/ring', (params) => {
    const channel = findChannel(context, params.channelId);
    requireStasis(channel);
    if (channel.state !== 'Up') asterisk.setState(channel, 'Ringing');
    return { status: 204 };
  });

  router.add('POST', '/channels/{channelId}/dtmf', (params, parameters) => {
    const channel = findChannel(context, params.channelId);
    requireStasis(channel);
    const digits = parameters.required('dtmf', 'DTMF is required');
    const before = parameters.number('before', 0);
    const between = parameters.number('between', 100);
    const duration = parameters.number('duration', 100);
    let at = before;
    for (const digit of digits) {
      if (!/[0-9A-D*#]/i.test(digit)) continue;
      setTimeout(() => {
        if (!channel.destroyed) channel.farEnd.receiveDtmf?.(digit.toUpperCase(), duration);
      }, at + duration).unref();
      at += duration + between;
    }
    return { status: 204 };
  });

  const play = (channelId: string | undefined, playbackId: string | undefined, parameters: Parameters) => {
    const channel = findChannel(context, channelId);
    requireStasis(channel);
    const playback = startPlayback(context, parameters, playbackId, { kind: 'channel', channel }, `channel:${channel.id}`);
    return { status: 201, body: playback.toJson() };
  };
  router.add('POST', '/channels/{channelId}/play', (params, parameters) => play(params.channelId, undefined, parameters));
  router.add('POST', '/channels/{channelId}/play/{playbackId}', (params, parameters) => play(params.channelId, params.playbackId, parameters));

  router.add('GET', '/channels/{channelId}/variable', (params, parameters) => {
    const channel = findChannel(context, params.channelId);
    const name = parameters.required('variable', 'Variable name is required');
    const value = channel.variables.get(name);
    if (value === undefined) throw new AriError(404, 'Provided variable was not found');
    return { status: 200, body: { value } };
  });

  router.add('POST', '/channels/{channelId}/variable', (params, parameters) => {
    const channel = findChannel(context, params.channelId);
    const name = parameters.required('variable', 'Variable name is required');
    asterisk.setVariable(channel, name, parameters.string('value') ?? '');
    return { status: 204 };
  });

  const snoop = (channelId: string | undefined, snoopId: string | undefined, parameters: Parameters) => {
    const target = findChannel(context, channelId);
    const app = parameters.required('app', 'app: Missing required field');
    const spy = direction(parameters.string('spy'));
    const whisper = direction(parameters.string('whisper'));
    if (spy === 'none' && whisper === 'none') throw new AriError(400, 'Direction must be specified for at least spy or whisper');
    const id = snoopId ?? parameters.string('snoopId') ?? nextUniqueId();
    if (asterisk.channels.has(id)) throw new AriError(409, 'Channel with given unique ID already exists');
    // Named after the target's unique id and a counter of snoops (`Snoop/<uniqueid>-00000000`).
    // Not subscribed to the app at creation: the snoop enters it from a thread of its own, as a
    // dialplan channel does, so the app hears nothing of it after its StasisEnd.
    const channel = asterisk.createChannel({
      id,
      name: `Snoop/${target.id}-${(snoopSequence++).toString(16).padStart(8, '0')}`,
      state: 'Up',
      dialplan: { context: 'default', exten: 's', priority: 1, app_name: '', app_data: '' },
      farEnd: new SilentFarEnd(),
    });
    channel.snoop = { target, spy, whisper };
    const body = channel.toJson();
    const args = parameters.list('appArgs');
    setImmediate(() => {
      if (!channel.destroyed) asterisk.enterStasis(channel, app, args);
    });
    return { status: 200, body };
  };
  router.add('POST', '/channels/{channelId}/snoop', (params, parameters) => snoop(params.channelId, undefined, parameters));
  router.add('POST', '/channels/{channelId}/snoop/{snoopId}', (params, parameters) => snoop(params.channelId, params.snoopId, parameters));
}

function direction(value: string | undefined): 'none' | 'in' | 'out' | 'both' {
  if (value === undefined || value === '' || value === 'none') return 'none';
  if (value === 'in' || value === 'out' || value === 'both') return value;
  throw new AriError(400, `Invalid direction '${value}'`);
}

/** `PJSIP/alice@trunk` -> name `PJSIP/alice-0000000a`; Local gets its `;1` half. */
function parseEndpoint(endpoint: string): { resource: string; name: string } {
  const slash = endpoint.indexOf('/');
  if (slash <= 0 || slash === endpoint.length - 1) throw new AriError(400, 'Invalid endpoint specified');
  const technology = endpoint.slice(0, slash);
  const resource = endpoint.slice(slash + 1);
  const suffix = nextChannelSuffix();
  const name = technology.toLowerCase() === 'local' ? `Local/${resource}-${suffix};1` : `${technology}/${resource.split(/[@/]/)[0]}-${suffix}`;
  return { resource, name };
}

function outboundChannel(context: SimulatorContext, parameters: Parameters, id: string, endpoint: string, app: string) {
  if (context.asterisk.channels.has(id)) throw new AriError(409, 'Channel with given unique ID already exists');
  const { resource, name } = parseEndpoint(endpoint);
  const channel = context.asterisk.createChannel(
    {
      id,
      name,
      state: 'Down',
      caller: parseCallerId(parameters.string('callerId')),
      dialplan: { context: 'default', exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' },
      farEnd: new SilentFarEnd(),
      variables: parameters.variables(),
    },
    app,
  );
  return { channel, resource };
}

/** Dial event, then the scripted called party starts ringing (ChannelStateChange, Dial RINGING). */
function dial(context: SimulatorContext, channel: Channel, endpoint: string, resource: string, args: string[], timeoutSeconds: number): void {
  if (channel.destroyed) return;
  context.asterisk.startDial(channel, resource);
  channel.farEnd = context.createOutboundCaller(channel, endpoint, args, timeoutSeconds);
  context.asterisk.ringDial(channel);
}

/** POST /channels: dial an endpoint; when the scripted far end answers, the channel enters the app. */
function originate(context: SimulatorContext, parameters: Parameters, pathChannelId: string | undefined) {
  const endpoint = parameters.required('endpoint', 'Endpoint must be specified');
  const app = parameters.string('app');
  if (!app) {
    if (parameters.string('extension')) throw new AriError(501, 'The simulator has no dialplan: originate into a Stasis app');
    throw new AriError(400, 'Application or extension must be specified');
  }
  checkOriginatorAndFormats(context, parameters);
  const id = pathChannelId ?? parameters.string('channelId') ?? nextUniqueId();
  const { channel, resource } = outboundChannel(context, parameters, id, endpoint, app);
  const body = channel.toJson();
  const args = parameters.list('appArgs');
  const timeoutSeconds = parameters.number('timeout', 30);
  setImmediate(() => dial(context, channel, endpoint, resource, args, timeoutSeconds));
  return { status: 200, body };
}

/** POST /channels/create: the channel is put into the app at once (StasisStart in state Down), not dialed. */
function create(context: SimulatorContext, parameters: Parameters) {
  const endpoint = parameters.required('endpoint', 'Endpoint must be specified');
  const app = parameters.required('app', 'app: Missing required field');
  checkOriginatorAndFormats(context, parameters);
  const id = parameters.string('channelId') ?? nextUniqueId();
  const { channel, resource } = outboundChannel(context, parameters, id, endpoint, app);
  created.set(channel, { endpoint, resource });
  context.asterisk.enterStasis(channel, app, parameters.list('appArgs'));
  return { status: 200, body: channel.toJson() };
}

const created = new WeakMap<Channel, { endpoint: string; resource: string }>();

/** POST /channels/{id}/dial: dial a channel made by /channels/create. */
function dialCreated(context: SimulatorContext, channelId: string | undefined, parameters: Parameters) {
  const channel = findChannel(context, channelId);
  requireStasis(channel);
  const target = created.get(channel);
  if (!target) throw new AriError(409, 'Channel is not in a state that allows dialing');
  created.delete(channel);
  dial(context, channel, target.endpoint, target.resource, [], parameters.number('timeout', 30));
  return { status: 204 };
}
