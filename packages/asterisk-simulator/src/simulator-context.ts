import type { Logger } from '@avp/shared';
import type { Caller, CallerOptions } from './caller/scripted-caller.ts';
import type { WebSocketMediaEndpoint } from './media/websocket-media.ts';
import type { Asterisk } from './model/asterisk.ts';
import type { Channel } from './model/channel.ts';
import { AriError } from './ari/router.ts';

/** What the ARI routes need from the running simulator. */
export interface SimulatorContext {
  asterisk: Asterisk;
  logger: Logger;
  /** Address RTP sockets bind to and report in UNICASTRTP_LOCAL_ADDRESS. */
  rtpAddress: string;
  /** websocket_client.conf stand-in: client id -> ws:// URI, for externalMedia client mode. */
  websocketClients: Map<string, string>;
  /** WebSocket media channels waiting for (or holding) a connection, by connection id. */
  mediaConnections: Map<string, WebSocketMediaEndpoint>;
  /** How long after its response an externalMedia channel is dialed, answered and put into Stasis. */
  stasisEntryDelayMs: number;
  /** Builds the scripted phone for an originated call and reports it to the simulator's user. */
  createOutboundCaller(channel: Channel, endpoint: string, appArgs: string[], timeoutSeconds: number): Caller;
  callerOptions: CallerOptions;
}

export function findChannel(context: SimulatorContext, id: string | undefined): Channel {
  const channel = id === undefined ? undefined : context.asterisk.channels.get(id);
  if (!channel) throw new AriError(404, 'Channel not found');
  return channel;
}

export function requireStasis(channel: Channel): void {
  if (!channel.inStasis) throw new AriError(409, 'Channel not in Stasis application');
}

/** Parses a callerId like `"Alice" <1001>` or `1001`. */
export function parseCallerId(value: string | undefined): { name: string; number: string } {
  if (!value) return { name: '', number: '' };
  const match = /^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$/.exec(value);
  if (match) return { name: match[1] ?? '', number: match[2] ?? '' };
  return { name: '', number: value.trim() };
}
