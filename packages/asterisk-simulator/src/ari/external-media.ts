import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { FORMATS, isMediaFormat, type MediaFormat } from '../media/codecs.ts';
import { AudioSocketEndpoint } from '../media/audiosocket-endpoint.ts';
import { RtpEndpoint } from '../media/rtp-endpoint.ts';
import { WebSocketMediaEndpoint } from '../media/websocket-media.ts';
import type { Channel } from '../model/channel.ts';
import { SilentFarEnd } from '../model/far-end.ts';
import { nextPointerSuffix, nextUniqueId } from '../model/time.ts';
import type { SimulatorContext } from '../simulator-context.ts';
import { AriError, type Parameters, type RouteResult } from './router.ts';

/** How long Asterisk's dial waits for a WebSocket media client (ARI originate's default timeout). */
const DIAL_TIMEOUT_MS = 30_000;

/**
 * POST /channels/externalMedia. As in Asterisk, the response (the channel as created, state
 * Down, plus `channelvars`) goes out first; the dial runs afterwards on its own: Dial,
 * ChannelStateChange Up, Dial ANSWER, StasisStart a few ms later for RTP and AudioSocket, and
 * only once a client connects for a WebSocket channel in server mode. Until its StasisStart the
 * channel is not in Stasis (addChannel answers 422, answer/play 409).
 */
export async function createExternalMedia(context: SimulatorContext, parameters: Parameters): Promise<RouteResult> {
  const app = parameters.required('app', 'app: Missing required field');
  const transport = parameters.string('transport') ?? 'udp';
  const encapsulation = parameters.string('encapsulation');
  const connectionType = parameters.string('connection_type') ?? 'client';
  const externalHost = parameters.string('external_host') ?? '';
  const formatName = parameters.required('format', 'format: Missing required field');
  const websocketServer = transport === 'websocket' && connectionType === 'server';
  if (!websocketServer && externalHost === '') {
    throw new AriError(400, 'external_host is required for all but websocket server connections');
  }
  if (!isMediaFormat(formatName)) throw new AriError(400, `format '${formatName}' is not supported by the simulator (ulaw, alaw, slin, slin16)`);
  const id = parameters.string('channelId') ?? nextUniqueId();
  if (context.asterisk.channels.has(id)) throw new AriError(409, 'Channel with given unique ID already exists');

  if (transport === 'udp') {
    if ((encapsulation ?? 'rtp') !== 'rtp') throw new AriError(400, `encapsulation '${encapsulation}' requires another transport`);
    if (formatName === 'slin') throw new AriError(400, "format 'slin' on RTP is not supported by the simulator (use slin16)");
    return createRtp(context, parameters, id, app, externalHost, formatName);
  }
  if (transport === 'websocket') {
    if (encapsulation !== undefined && encapsulation !== 'none') throw new AriError(400, "encapsulation must be 'none' for websocket transport");
    return createWebSocket(context, parameters, id, app, externalHost, formatName, websocketServer);
  }
  if (transport === 'tcp') {
    if (encapsulation !== 'audiosocket') throw new AriError(400, "transport 'tcp' requires encapsulation 'audiosocket'");
    return createAudioSocket(context, parameters, id, app, externalHost, formatName);
  }
  throw new AriError(400, `Invalid transport '${transport}'`);
}

async function createRtp(
  context: SimulatorContext,
  parameters: Parameters,
  id: string,
  app: string,
  externalHost: string,
  format: MediaFormat,
): Promise<RouteResult> {
  const { host: remoteHost, port: remotePort } = hostAndPort(externalHost);
  const endpoint = await RtpEndpoint.open({ bindAddress: context.rtpAddress, remoteHost, remotePort, format });
  const channelVars = {
    UNICASTRTP_LOCAL_PORT: String(endpoint.localPort),
    UNICASTRTP_LOCAL_ADDRESS: endpoint.localAddress,
  };
  const channel = newChannel(context, parameters, id, `UnicastRTP/${externalHost}-${nextPointerSuffix()}`, endpoint, app, channelVars);
  const body = { ...channel.toJson(), channelvars: channelVars };
  return { status: 200, body, afterResponse: () => dialAndEnterLater(context, channel, app, `${externalHost}/c(${format})`) };
}

async function createAudioSocket(
  context: SimulatorContext,
  parameters: Parameters,
  id: string,
  app: string,
  externalHost: string,
  format: MediaFormat,
): Promise<RouteResult> {
  const uuid = parameters.required('data', 'data: the AudioSocket call UUID is required');
  if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(uuid)) throw new AriError(400, 'data must be a UUID');
  if (format !== 'slin' && format !== 'slin16') throw new AriError(400, 'AudioSocket carries signed linear audio only: use slin or slin16');
  const { host, port } = hostAndPort(externalHost);
  const holder: { channel?: Channel } = {};
  let endpoint: AudioSocketEndpoint;
  try {
    endpoint = await AudioSocketEndpoint.open(host, port, uuid, format, {
      hangup: (cause) => holder.channel && context.asterisk.hangup(holder.channel, { cause }),
    });
  } catch {
    throw new AriError(500, 'Failed to create external media channel');
  }
  const channel = newChannel(context, parameters, id, `AudioSocket/${externalHost}-${nextPointerSuffix()}`, endpoint, app, {});
  holder.channel = channel;
  const body = channel.toJson();
  return { status: 200, body, afterResponse: () => dialAndEnterLater(context, channel, app, `${externalHost}/${uuid}/c(${format})`) };
}

function hostAndPort(externalHost: string): { host: string; port: number } {
  const colon = externalHost.lastIndexOf(':');
  const port = Number(externalHost.slice(colon + 1));
  const host = externalHost.slice(0, colon).replace(/^\[|\]$/g, '');
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) throw new AriError(400, 'external_host must be host:port');
  return { host, port };
}

async function createWebSocket(
  context: SimulatorContext,
  parameters: Parameters,
  id: string,
  app: string,
  externalHost: string,
  format: MediaFormat,
  server: boolean,
): Promise<RouteResult> {
  const { asterisk } = context;
  const transportData = parameters.string('transport_data') ?? '';
  const json = /f\(json\)/.test(transportData);
  let clientUri: string | undefined;
  if (!server) {
    clientUri = context.websocketClients.get(externalHost);
    if (!clientUri) throw new AriError(400, `WebSocket client connection '${externalHost}' not found`);
  }
  const connectionId = server ? randomUUID() : externalHost;
  const channelVars = {
    MEDIA_WEBSOCKET_CONNECTION_ID: connectionId,
    MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: String(FORMATS[format].frameBytes),
  };
  const dialString = `${server ? 'INCOMING' : externalHost}${transportData ? `/${transportData}` : ''}`;
  const holder: { channel?: Channel } = {};
  let dialed = false;
  const startDial = () => {
    if (dialed || !holder.channel || holder.channel.destroyed) return;
    dialed = true;
    asterisk.startDial(holder.channel, dialString);
  };
  const endpoint = new WebSocketMediaEndpoint(
    { connectionId, format, json },
    {
      describe: () => ({
        channelId: holder.channel?.id ?? id,
        channelName: holder.channel?.name ?? '',
        variables: Object.fromEntries(holder.channel?.variables ?? []),
      }),
      // The dial completes once the media socket is up: answered, then into the application.
      connected: () => {
        const channel = holder.channel;
        if (!channel || channel.destroyed) return;
        startDial();
        asterisk.answerDial(channel);
        if (!channel.inStasis) asterisk.enterStasis(channel, app, []);
      },
      answer: () => holder.channel && asterisk.answer(holder.channel),
      hangup: (cause, techCause) => holder.channel && asterisk.hangup(holder.channel, { cause, techCause }),
    },
  );
  const name = `WebSocket/${server ? 'INCOMING' : externalHost}/${nextPointerSuffix()}`;
  const channel = newChannel(context, parameters, id, name, endpoint, app, channelVars);
  holder.channel = channel;
  const body = { ...channel.toJson(), channelvars: channelVars };
  if (server) context.mediaConnections.set(connectionId, endpoint);
  const afterResponse = () => {
    startDial();
    // Nobody connected in time: the dial gives up and the channel is destroyed (cause 19).
    setTimeout(() => {
      if (channel.pendingDial) asterisk.hangup(channel, { cause: 19, requested: false });
    }, DIAL_TIMEOUT_MS).unref();
    if (!server) connectClient(context, channel, endpoint, withUriParameters(clientUri as string, transportData));
  };
  return { status: 200, body, afterResponse };
}

function newChannel(
  context: SimulatorContext,
  parameters: Parameters,
  id: string,
  name: string,
  farEnd: RtpEndpoint | WebSocketMediaEndpoint | AudioSocketEndpoint,
  app: string,
  channelVars: Record<string, string>,
): Channel {
  const channel = context.asterisk.createChannel(
    {
      id,
      name,
      state: 'Down',
      dialplan: { context: 'default', exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' },
      farEnd,
      variables: { ...parameters.variables(), ...channelVars },
    },
    app,
  );
  return channel;
}

/** Dial, answer, and StasisStart (with no args), in Asterisk's order, a little after the response. */
function dialAndEnterLater(context: SimulatorContext, channel: Channel, app: string, dialString: string): void {
  setTimeout(() => {
    const { asterisk } = context;
    if (channel.destroyed) return;
    asterisk.startDial(channel, dialString);
    asterisk.answerDial(channel);
    asterisk.enterStasis(channel, app, []);
  }, context.stasisEntryDelayMs).unref();
}

/** Client mode: Asterisk connects to the application's WebSocket server with the `media` subprotocol. */
function connectClient(context: SimulatorContext, channel: Channel, endpoint: WebSocketMediaEndpoint, uri: string): void {
  const socket = new WebSocket(uri, ['media']);
  socket.once('open', () => {
    if (channel.destroyed) {
      socket.close(1000);
      return;
    }
    endpoint.attach(socket);
  });
  socket.once('error', (error) => {
    if (socket.readyState === socket.OPEN || channel.destroyed) return;
    context.logger.warn({ err: error, uri }, 'media WebSocket client connection failed');
    channel.farEnd = new SilentFarEnd();
    context.asterisk.hangup(channel, { cause: 3 });
  });
}

/** Appends `v(name=value,...)` from transport_data to the client URI, as chan_websocket does. */
function withUriParameters(uri: string, transportData: string): string {
  const match = /v\(([^)]*)\)/.exec(transportData);
  if (!match?.[1]) return uri;
  const url = new URL(uri);
  for (const pair of match[1].split(',')) {
    const [name, value = ''] = pair.split('=');
    if (name) url.searchParams.append(name, value);
  }
  return url.toString();
}
