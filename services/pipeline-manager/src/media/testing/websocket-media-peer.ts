import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** A `ws` server speaking Asterisk's WebSocket media protocol, standing in for chan_websocket. */
export class WebSocketMediaPeer {
  readonly binary: Buffer[] = [];
  readonly text: string[] = [];
  readonly protocols: string[] = [];
  socket: WebSocket | undefined;

  private constructor(private readonly server: WebSocketServer) {
    server.on('connection', (socket, request) => {
      this.socket = socket;
      this.protocols.push(String(request.headers['sec-websocket-protocol'] ?? ''));
      socket.on('message', (data, isBinary) => {
        const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        if (isBinary) this.binary.push(bytes);
        else this.text.push(bytes.toString());
      });
    });
  }

  static async create(): Promise<WebSocketMediaPeer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => (protocols.has('media') ? 'media' : false) });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new WebSocketMediaPeer(server);
  }

  url(connectionId = 'conn-1'): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/media/${connectionId}`;
  }

  sendText(text: string): void {
    this.socket?.send(text);
  }

  sendBinary(bytes: Uint8Array): void {
    this.socket?.send(bytes, { binary: true });
  }

  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
