import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { silentLogger, type Logger } from '@avp/shared';
import { WebSocketServer } from 'ws';
import { isAuthorized } from './ari/auth.ts';
import { registerBridgeRoutes } from './ari/bridge-routes.ts';
import { registerChannelRoutes } from './ari/channel-routes.ts';
import { registerPlaybackRoutes } from './ari/playback-routes.ts';
import { registerRecordingRoutes } from './ari/recording-routes.ts';
import { Router, send } from './ari/router.ts';
import { registerSystemRoutes } from './ari/system-routes.ts';
import { endpointMatches, OutboundScripts, type EndpointMatch, type OutboundBehaviour } from './caller/outbound-scripts.ts';
import { Caller, type CallerOptions } from './caller/scripted-caller.ts';
import { RtpEndpoint } from './media/rtp-endpoint.ts';
import { MAX_MEDIA_MESSAGE_BYTES } from './media/websocket-media.ts';
import { Asterisk } from './model/asterisk.ts';
import type { Channel, ChannelJson } from './model/channel.ts';
import { SilentFarEnd } from './model/far-end.ts';
import { MediaLibrary } from './model/media-library.ts';
import { asteriskTimestamp, nextChannelSuffix, nextUniqueId } from './model/time.ts';
import type { SimulatorContext } from './simulator-context.ts';

export interface AsteriskSimulatorOptions {
  /** ARI HTTP port; 0 picks a free one. Default 0. */
  ariPort?: number;
  ariUser?: string;
  ariPassword?: string;
  /** Address for ARI HTTP and WebSocket. Default 127.0.0.1. */
  host?: string;
  /** Address RTP sockets bind to and report (UNICASTRTP_LOCAL_ADDRESS). Default: host, or 127.0.0.1 when host is 0.0.0.0. */
  rtpAddress?: string;
  logger?: Logger;
  /** Folder searched for `sound:<name>` as `<name>.wav`. */
  soundsDirectory?: string;
  /** websocket_client.conf stand-in for externalMedia WebSocket client mode: id -> ws:// URI. */
  websocketClients?: Record<string, string>;
  /** Originated calls: answer automatically (true, or after this many ms) or leave it to `caller.answer()` (false). Default true. */
  autoAnswerOriginated?: boolean | number;
  /** Defaults for every scripted caller. */
  callerOptions?: CallerOptions;
  /**
   * How long after its response an externalMedia channel (RTP, AudioSocket) enters Stasis.
   * Real Asterisk took 4-31 ms; an application that bridges the channel before its StasisStart
   * gets 422. Default 20.
   */
  stasisEntryDelayMs?: number;
  /**
   * Length of Asterisk's cache directory (astcachedir), which decides whether a
   * `sound:http(s)://` playback survives Asterisk 23's too-small path buffer. Default 19
   * (`/var/cache/asterisk`).
   */
  mediaCacheDirectoryLength?: number;
}

export interface PlaceCallOptions {
  /** Stasis application the call enters (it must be connected). */
  app: string;
  /** Stasis arguments (StasisStart `args`). */
  args?: string[];
  callerNumber?: string;
  callerName?: string;
  /** Dialled extension (the channel's dialplan exten). Default `s`. */
  extension?: string;
  /** Channel technology of the inbound call. Default PJSIP. */
  technology?: string;
  channelId?: string;
  callerOptions?: CallerOptions;
}

/** A running simulator: ARI on `url`, plus the scripted-caller API. */
export interface AsteriskSimulator {
  /** `http://host:port` (ARI is under `/ari`). */
  readonly url: string;
  readonly port: number;
  /** The simulated Asterisk state (channels, bridges), for assertions. */
  readonly asterisk: Asterisk;
  /** Puts an inbound call into a Stasis app (StasisStart with args) and returns its caller. */
  placeCall(options: PlaceCallOptions): Caller;
  /** Resolves once an application has an events WebSocket connected. */
  waitForApp(app: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the next originated call's far end (the called party). */
  nextOutboundCall(timeoutMs?: number): Promise<Caller>;
  /**
   * Resolves with the called party of the next originate to a matching endpoint (`PJSIP/+1555`,
   * or just `+1555`): a `Caller` that hears the call's audio and plays speech into it.
   */
  waitForOutboundCall(match: EndpointMatch, timeoutMs?: number): Promise<Caller>;
  /**
   * How the called parties of matching originates behave (answer after N ms, busy, reject with
   * a cause, ring without answering), instead of `autoAnswerOriginated`; the latest matching
   * script wins. The returned function removes the script.
   */
  scriptOutbound(match: EndpointMatch, behaviour: OutboundBehaviour): () => void;
  readonly outboundCalls: EventEmitter<{ call: [Caller, string] }>;
  addSound(name: string, samples: Int16Array): void;
  addWebSocketClient(id: string, uri: string): void;
  channels(): ChannelJson[];
  close(): Promise<void>;
}

/** Starts a simulated Asterisk 23 (ARI, external media, scripted callers). */
export async function startAsteriskSimulator(options: AsteriskSimulatorOptions = {}): Promise<AsteriskSimulator> {
  const host = options.host ?? '127.0.0.1';
  const user = options.ariUser ?? 'asterisk';
  const password = options.ariPassword ?? 'asterisk';
  const logger = options.logger ?? silentLogger();
  const asteriskId = '02:42:ac:11:00:02';
  const asterisk = new Asterisk(asteriskId, new MediaLibrary(options.soundsDirectory, options.mediaCacheDirectoryLength), logger);
  const outboundCalls = new EventEmitter<{ call: [Caller, string] }>();
  const autoAnswer = options.autoAnswerOriginated ?? true;
  const scripts = new OutboundScripts();

  const callerHooks = (channel: Channel) => ({
    dtmf: (digit: string, durationMs: number) => asterisk.dtmfFromFarEnd(channel, digit, durationMs),
    // An unanswered originated call also gets its final Dial (BUSY, NOANSWER, ...) from the model.
    hangup: (cause: number) => asterisk.hangup(channel, { cause }),
    answer: () => answerOutbound(channel),
    mediaLegs: () =>
      (channel.bridge?.members ?? [])
        .map((member) => member.channel.farEnd)
        .filter((farEnd): farEnd is RtpEndpoint => farEnd instanceof RtpEndpoint),
  });
  const dialArgs = new Map<Channel, { args: string[]; timer?: NodeJS.Timeout }>();
  const answerOutbound = (channel: Channel) => {
    const dial = dialArgs.get(channel);
    if (!dial || channel.destroyed || !channel.app) return;
    clearTimeout(dial.timer);
    dialArgs.delete(channel);
    asterisk.answerDial(channel);
    // A channel from /channels/create is in the app already; an originated one enters it now.
    if (!channel.inStasis) asterisk.enterStasis(channel, channel.app, dial.args);
  };

  const context: SimulatorContext = {
    asterisk,
    logger,
    rtpAddress: options.rtpAddress ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host),
    websocketClients: new Map(Object.entries(options.websocketClients ?? {})),
    mediaConnections: new Map(),
    stasisEntryDelayMs: options.stasisEntryDelayMs ?? 20,
    callerOptions: options.callerOptions ?? {},
    createOutboundCaller: (channel, endpoint, args, timeoutSeconds) => {
      const caller = new Caller(callerHooks(channel), options.callerOptions);
      caller.channel = channel;
      // ARI's originate timeout: seconds to wait for an answer; -1 (or 0) waits for ever. When it
      // passes, the dial just destroys the channel: ChannelDestroyed (cause 19) and nothing before it.
      const timer =
        timeoutSeconds > 0
          ? setTimeout(() => {
              if (!channel.destroyed && channel.pendingDial) asterisk.hangup(channel, { cause: 19, requested: false });
            }, timeoutSeconds * 1000).unref()
          : undefined;
      dialArgs.set(channel, { args, timer });
      outboundCalls.emit('call', caller, endpoint);
      const behaviour = scripts.find(endpoint);
      if (behaviour) {
        OutboundScripts.apply(behaviour, caller);
      } else if (autoAnswer !== false) {
        const delay = typeof autoAnswer === 'number' ? autoAnswer : 0;
        setTimeout(() => answerOutbound(channel), delay).unref();
      }
      return caller;
    },
  };
  asterisk.on('channelDestroyed', (channel) => {
    clearTimeout(dialArgs.get(channel)?.timer);
    dialArgs.delete(channel);
    for (const [id, endpoint] of context.mediaConnections) if (endpoint === channel.farEnd) context.mediaConnections.delete(id);
  });

  const router = new Router();
  registerSystemRoutes(router, context, asteriskTimestamp());
  registerChannelRoutes(router, context);
  registerBridgeRoutes(router, context);
  registerPlaybackRoutes(router, context);
  registerRecordingRoutes(router, context);

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/ari/')) {
      send(response, 404, { message: 'Not found' });
      return;
    }
    if (!isAuthorized(request, url.searchParams, user, password)) {
      response.setHeader('www-authenticate', 'Basic realm="Asterisk REST Interface"');
      send(response, 401, { message: 'Authentication required' });
      return;
    }
    router.handle(request, response, url.pathname.slice(4), url.searchParams).catch((error: unknown) => {
      logger.error({ err: error }, 'ARI request failed');
      if (!response.headersSent) send(response, 500, { message: 'Internal Server Error' });
    });
  });
  const eventSockets = new WebSocketServer({ noServer: true });
  const mediaSockets = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MEDIA_MESSAGE_BYTES,
    handleProtocols: (protocols) => (protocols.has('media') ? 'media' : false),
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname === '/ari/events') {
      if (!isAuthorized(request, url.searchParams, user, password)) return reject(401, 'Unauthorized');
      const apps = (url.searchParams.get('app') ?? '').split(',').filter((app) => app.length > 0);
      if (apps.length === 0) return reject(400, 'Bad Request');
      const subscribeAll = url.searchParams.get('subscribeAll') === 'true';
      eventSockets.handleUpgrade(request, socket, head, (ws) => asterisk.hub.register(ws, apps, subscribeAll));
      return;
    }
    const media = /^\/media\/([^/]+)$/.exec(url.pathname);
    if (media) {
      const endpoint = context.mediaConnections.get(decodeURIComponent(media[1] ?? ''));
      if (!endpoint || endpoint.connected) return reject(404, 'Not Found');
      mediaSockets.handleUpgrade(request, socket, head, (ws) => endpoint.attach(ws));
      return;
    }
    reject(404, 'Not Found');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.ariPort ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  const simulator: AsteriskSimulator = {
    url: `http://${urlHost}:${port}`,
    port,
    asterisk,
    outboundCalls,
    placeCall(call) {
      if (!asterisk.hub.isRegistered(call.app)) throw new Error(`Stasis application '${call.app}' is not registered (no events WebSocket)`);
      const technology = call.technology ?? 'PJSIP';
      const number = call.callerNumber ?? '1000';
      const channelId = call.channelId ?? nextUniqueId();
      if (asterisk.channels.has(channelId)) throw new Error(`channel ${channelId} already exists`);
      const channel = asterisk.createChannel({
        id: channelId,
        name: `${technology}/${number}-${nextChannelSuffix()}`,
        state: 'Ring',
        caller: { name: call.callerName ?? '', number },
        dialplan: { context: 'from-external', exten: call.extension ?? 's', priority: 1, app_name: 'Stasis', app_data: '' },
        farEnd: new SilentFarEnd(),
      });
      const caller = new Caller(callerHooks(channel), { ...options.callerOptions, ...call.callerOptions });
      caller.channel = channel;
      channel.farEnd = caller;
      asterisk.enterStasis(channel, call.app, call.args ?? []);
      return caller;
    },
    async waitForApp(app, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!asterisk.hub.isRegistered(app)) {
        if (Date.now() > deadline) throw new Error(`application ${app} did not connect within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    nextOutboundCall(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          outboundCalls.off('call', listener);
          reject(new Error(`no outbound call within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = (caller: Caller) => {
          clearTimeout(timer);
          resolve(caller);
        };
        outboundCalls.once('call', listener);
      });
    },
    waitForOutboundCall(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          outboundCalls.off('call', listener);
          reject(new Error(`no outbound call to ${String(match)} within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = (caller: Caller, endpoint: string) => {
          if (!endpointMatches(match, endpoint)) return;
          clearTimeout(timer);
          outboundCalls.off('call', listener);
          resolve(caller);
        };
        outboundCalls.on('call', listener);
      });
    },
    scriptOutbound: (match, behaviour) => scripts.add(match, behaviour),
    addSound: (name, samples) => asterisk.media.addSound(name, samples),
    addWebSocketClient: (id, uri) => void context.websocketClients.set(id, uri),
    channels: () => asterisk.listedChannels().map((channel) => channel.toJson()),
    async close() {
      asterisk.shutdown();
      for (const client of eventSockets.clients) client.terminate();
      for (const client of mediaSockets.clients) client.terminate();
      eventSockets.close();
      mediaSockets.close();
      for (const { timer } of dialArgs.values()) clearTimeout(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return simulator;
}
