import type { LookupAddress } from 'node:dns';
import { HostUnresolvedError, OutboundRefusedError, type OutboundPolicy } from '@avp/shared';
import WebSocket from 'ws';

/** The http(s) URL the outbound rule judges for a ws(s) URL (same host, port and path). */
export function httpFormOf(url: string): string {
  return url.trim().replace(/^ws(s?):/i, 'http$1:');
}

/**
 * Judges an engine's URL by the rule of webhooks: a ws:// or wss:// URL without credentials
 * whose host is public (or allowed by the operator, `OUTBOUND_ALLOWED_HOSTS`). Answers why it
 * is refused, or undefined.
 */
export async function engineUrlRefusal(policy: OutboundPolicy, url: string): Promise<string | undefined> {
  if (!/^wss?:\/\//i.test(url.trim())) return 'must be a ws:// or wss:// URL';
  try {
    await policy.checkUrl(httpFormOf(url));
    return undefined;
  } catch (error) {
    if (error instanceof OutboundRefusedError || error instanceof HostUnresolvedError) return error.message;
    throw error;
  }
}

/**
 * Connects to an engine's WebSocket, on an address the outbound rule allowed: the host is
 * resolved and checked here and the socket goes to that very address (no second lookup a
 * rebinding DNS could answer differently). Redirects are not followed.
 */
export async function connectEngine(policy: OutboundPolicy, url: string, timeoutMs: number): Promise<WebSocket> {
  const checked = await policy.checkUrl(httpFormOf(url));
  const addresses: LookupAddress[] = checked.addresses;
  const lookup = (_host: string, options: { all?: boolean }, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
  const socket = new WebSocket(url.trim(), { perMessageDeflate: false, followRedirects: false, handshakeTimeout: timeoutMs, maxPayload: 1024 * 1024, ...({ lookup } as object) });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`the engine did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      socket.terminate();
      reject(new Error(`the engine answered HTTP ${response.statusCode ?? '?'} instead of a WebSocket`));
    });
  });
  return socket;
}

/** Connects to the call's media leg on Asterisk (chan_websocket, server mode) and waits for its MEDIA_START. */
export async function connectLeg(url: string, timeoutMs: number): Promise<{ socket: WebSocket; early: { data: Buffer; isBinary: boolean }[] }> {
  const socket = new WebSocket(url, ['media'], { perMessageDeflate: false });
  const early: { data: Buffer; isBinary: boolean }[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`Asterisk's media WebSocket sent no MEDIA_START within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (!isBinary && buffer.toString('utf8').includes('MEDIA_START')) {
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve();
        return;
      }
      early.push({ data: buffer, isBinary });
    };
    socket.on('message', onMessage);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('Asterisk closed the media WebSocket'));
    });
  });
  return { socket, early };
}
