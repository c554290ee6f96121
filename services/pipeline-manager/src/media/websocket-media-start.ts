import { appError } from '@avp/shared';
import type WebSocket from 'ws';
import { FRAME_MS } from './audio-format.ts';
import { codecInfo, type MediaCodecName } from './g711.ts';
import { parseMediaControlMessage } from './websocket-control.ts';

const supportedFormats: Record<string, MediaCodecName> = { ulaw: 'ulaw', alaw: 'alaw', slin16: 'slin16' };

/** What Asterisk announced in `MEDIA_START`. */
export interface MediaStartInfo {
  connectionId: string | undefined;
  channelId: string | undefined;
  format: MediaCodecName;
  optimalFrameSize: number;
  ptimeMs: number;
  json: boolean;
  fields: Record<string, unknown>;
}

/** Waits for `MEDIA_START` on a fresh media socket; `onStart` runs synchronously when it arrives. */
export function waitForMediaStart(socket: WebSocket, timeoutMs: number, onStart: () => void): Promise<MediaStartInfo> {
  return new Promise<MediaStartInfo>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(appError('RPC_TIMEOUT', `Asterisk sent no MEDIA_START within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
      if (isBinary) return;
      const message = parseMediaControlMessage(data.toString());
      if (message?.event !== 'MEDIA_START') return;
      cleanup();
      onStart();
      const format = supportedFormats[String(message.fields.format ?? '')];
      if (!format) {
        reject(appError('INVALID_STATE', `unsupported media format ${JSON.stringify(message.fields.format)}`));
        return;
      }
      resolve({
        connectionId: optionalString(message.fields.connection_id),
        channelId: optionalString(message.fields.channel_id),
        format,
        optimalFrameSize: Number(message.fields.optimal_frame_size ?? codecInfo[format].bytesPerFrame),
        ptimeMs: Number(message.fields.ptime ?? FRAME_MS),
        json: message.json,
        fields: message.fields,
      });
    };
    const onClose = (): void => {
      cleanup();
      reject(appError('SERVICE_UNAVAILABLE', 'the media WebSocket closed before MEDIA_START'));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(appError('SERVICE_UNAVAILABLE', `the media WebSocket failed: ${error.message}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

