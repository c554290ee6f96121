import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { appError } from '@avp/shared';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import type { ExternalMediaStreams } from './external-media-streams.ts';

const socketPath = /^\/v1\.0\/calls\/([0-9a-f-]{36})\/external-media\/([0-9a-f-]{36})\/socket$/i;
/** Marks an upgrade this module took, so the HTTP route below stays silent for it. */
const takenUpgrade = Symbol('external-media-dial-in');

/**
 * `GET /v1.0/calls/{id}/external-media/{stream id}/socket?token=...` (WebSocket): where a
 * `dial_in` stream's engine connects. The upgrade is taken straight off the HTTP server, before
 * any other listener (ai-manager's WebSocket plugin shares the server in the one-process mode
 * and routes every upgrade through Fastify): the route of the same path only answers a plain
 * GET (400) and keeps quiet for an upgrade taken here. A wrong or used token gets the socket
 * closed with 1008; the token works once.
 */
export function registerDialInSocket(app: FastifyInstance, streams: ExternalMediaStreams): void {
  const server = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024 });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = socketPath.exec(url.pathname);
    if (!match) {
      // Alone on the server (flow-manager on its own), nobody else would answer it.
      if (app.server.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    (request as IncomingMessage & { [takenUpgrade]?: boolean })[takenUpgrade] = true;
    server.handleUpgrade(request, socket, head, (engine) => {
      const admitted = streams.admitEngine(match[1]!.toLowerCase(), match[2]!.toLowerCase(), url.searchParams.get('token') ?? '', engine);
      if (!admitted) engine.close(1008, 'invalid or used token');
    });
  };
  app.server.prependListener('upgrade', onUpgrade);
  app.addHook('onClose', async () => {
    app.server.off('upgrade', onUpgrade);
    for (const client of server.clients) client.terminate();
    server.close();
  });
  app.get('/v1.0/calls/:id/external-media/:streamId/socket', { schema: { hide: true } }, async (request, reply) => {
    if ((request.raw as IncomingMessage & { [takenUpgrade]?: boolean })[takenUpgrade]) {
      void reply.hijack();
      return;
    }
    throw appError('VALIDATION_FAILED', 'Connect to this URL with a WebSocket (Upgrade: websocket).');
  });
}
