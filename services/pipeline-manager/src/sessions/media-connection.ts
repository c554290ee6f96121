import { rpcCall, type Bus, type Logger } from '@avp/shared';
import type { MediaTransport } from '../media/media-transport.ts';
import { createRtpTransport } from '../media/rtp-transport.ts';
import { connectWebMedia } from '../media/web-media.ts';
import { connectWebSocketMedia } from '../media/websocket-transport.ts';
import type { PipelineStart } from './pipeline-start.ts';

/**
 * How the audio reaches a pipeline: a call's RTP external media leg or Asterisk's WebSocket
 * media channel, or (`web`) a browser's microphone relayed by ai-manager (web-media.ts).
 */
export type MediaTransportKind = 'rtp' | 'websocket' | 'web';

/** Wire codec per transport when the request names none: G.711 u-law on RTP, 16 kHz linear on WebSocket. */
const defaultFormat: Record<MediaTransportKind, PipelineStart['format'] & string> = { rtp: 'ulaw', websocket: 'slin16', web: 'slin16' };

export interface MediaConnectionOptions {
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** Address the RTP socket binds to and gives Asterisk. */
  rtpAddress: string;
  /** Longest wait for flow-manager to set a leg up (it waits on Asterisk itself). */
  timeoutMs?: number;
}

/** A connected media leg, with what it takes to remove it. */
export interface MediaConnection {
  transport: MediaTransport;
  kind: MediaTransportKind;
  /** The leg's channel: removing the media names it, so a replaced pipeline never removes its successor's leg. */
  channelId: string | undefined;
}

interface ExternalMediaReply {
  channel_id?: string;
  local_address: string | null;
  local_port: number | null;
  websocket_url: string | null;
}

/**
 * Connects a pipeline to its call's audio through flow-manager, in the order a real Asterisk
 * needs. RTP: open a socket, ask for a leg sending to it (flow-manager bridges it before
 * answering), send back to Asterisk's address. WebSocket: ask for a leg (Asterisk serves it),
 * connect and wait for MEDIA_START, then ask flow-manager to bridge it (Asterisk keeps a
 * WebSocket channel out of the app until its client has connected). A failure removes whatever
 * was set up.
 */
export async function connectCallMedia(request: PipelineStart, kind: MediaTransportKind, options: MediaConnectionOptions): Promise<MediaConnection> {
  if (kind === 'web' || request.call_id === null) return { transport: await connectWebMedia(request), kind: 'web', channelId: undefined };
  const format = request.format ?? defaultFormat[kind];
  const path = `/v1/calls/${request.call_id}/external_media`;
  const call = <T>(method: 'POST' | 'DELETE', uri: string, data: Record<string, unknown>) =>
    rpcCall<T>(options.bus, 'flow-manager', method, uri, { customer_id: request.customer_id, ...data }, { publisher: options.serviceName, timeoutMs: options.timeoutMs ?? 15_000 });
  const remove = () =>
    call('DELETE', path, {}).catch((error: unknown) => options.logger.warn({ err: error, callId: request.call_id }, 'could not remove the external media leg'));

  if (kind === 'rtp') {
    const transport = await createRtpTransport({ codec: format, bindAddress: options.rtpAddress, bindPort: 0 });
    let requested = false;
    try {
      const local = transport.localAddress();
      requested = true;
      const media = await call<ExternalMediaReply>('POST', path, { transport: 'rtp', external_host: `${local.address}:${local.port}`, format });
      transport.setRemote({ address: media.local_address ?? '127.0.0.1', port: Number(media.local_port) });
      return { transport, kind, channelId: media.channel_id };
    } catch (error) {
      await transport.close().catch(() => undefined);
      if (requested) await remove();
      throw error;
    }
  }

  const media = await call<ExternalMediaReply>('POST', path, { transport: 'websocket', format });
  let transport: MediaTransport | undefined;
  try {
    if (!media.websocket_url) throw new Error('flow-manager gave no WebSocket URL for the media leg');
    transport = await connectWebSocketMedia({ url: media.websocket_url });
    await call('POST', `${path}/attach`, {});
    return { transport, kind, channelId: media.channel_id };
  } catch (error) {
    await transport?.close().catch(() => undefined);
    await remove();
    throw error;
  }
}
