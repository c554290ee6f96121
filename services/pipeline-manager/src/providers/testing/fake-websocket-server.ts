import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** One WebSocket connection the fake vendor accepted, with everything it received. */
export interface RecordedConnection {
  url: string;
  headers: IncomingHttpHeaders;
  socket: WebSocket;
  /** Text frames parsed as JSON when possible (else the string), binary frames as Buffers. */
  messages: Array<unknown>;
  /** Binary frames only. */
  binary: Buffer[];
  /** JSON text frames only. */
  json: Array<Record<string, unknown>>;
  /** Resolves once the client closes. */
  closed: Promise<void>;
}

export interface FakeWebSocketServer {
  /** `http://127.0.0.1:<port>`; SDKs given an HTTP base derive the ws:// URL. */
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly connections: RecordedConnection[];
  /** Upgrade requests seen, rejected ones included. */
  readonly attempts: number;
  /** Called for each new connection (before any message) and for each message. */
  handle(handler: {
    onConnection?: (connection: RecordedConnection) => void;
    onMessage?: (connection: RecordedConnection, message: unknown, isBinary: boolean) => void;
  }): void;
  /** Refuse the upgrade with this HTTP status (undefined: accept). */
  rejectWith(status: number | undefined): void;
  close(): Promise<void>;
}

/** A WebSocket vendor stand-in on 127.0.0.1 (random port) that records what it receives. */
export async function startFakeWebSocketServer(): Promise<FakeWebSocketServer> {
  const connections: RecordedConnection[] = [];
  let handler: Parameters<FakeWebSocketServer['handle']>[0] = {};
  let rejectStatus: number | undefined;
  const http = createServer((_request, response) => {
    response.statusCode = 404;
    response.end();
  });
  const server = new WebSocketServer({ noServer: true });
  let attempts = 0;
  http.on('upgrade', (request, socket, head) => {
    attempts++;
    if (rejectStatus !== undefined) {
      socket.end(`HTTP/1.1 ${rejectStatus} Rejected\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      return;
    }
    server.handleUpgrade(request, socket, head, (websocket) => {
      let resolveClosed!: () => void;
      const connection: RecordedConnection = {
        url: request.url ?? '',
        headers: request.headers,
        socket: websocket,
        messages: [],
        binary: [],
        json: [],
        closed: new Promise<void>((resolve) => {
          resolveClosed = resolve;
        }),
      };
      connections.push(connection);
      websocket.on('close', () => resolveClosed());
      websocket.on('message', (data: Buffer, isBinary) => {
        let message: unknown = data;
        if (isBinary) {
          connection.binary.push(data);
        } else {
          const text = data.toString('utf8');
          try {
            message = JSON.parse(text);
            connection.json.push(message as Record<string, unknown>);
          } catch {
            message = text;
          }
        }
        connection.messages.push(message);
        handler.onMessage?.(connection, message, isBinary);
      });
      handler.onConnection?.(connection);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    connections,
    get attempts() {
      return attempts;
    },
    handle(next) {
      handler = next;
    },
    rejectWith(status) {
      rejectStatus = status;
    },
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
