import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { WebsocketHub } from '../events/websocket-hub.ts';
import { callerOf } from '../http/caller.ts';
import { keySecurity } from './route-schemas.ts';

/** `?since=`: a non-negative integer (the query also carries the access key, which is ignored here). */
const websocketQuerySchema = z.object({
  /** Resume point for the connection's first subscription that names no `since` of its own. */
  since: z.coerce.number().int().min(0).optional(),
});

/**
 * `GET /v1.0/ws`: a WebSocket for event pushes. Clients send
 * `{"type":"subscribe","topics":["customer_id:<id>:aicall"]}` (or `unsubscribe`) and get
 * `{"id", "seq", "type": <event type>, "data": <resource>}` for every matching event. A client
 * that reconnects resumes with `"since": <the last seq it saw>` in its subscribe message (or
 * `?since=` on the URL): the kept events after it come first, then live ones. The connection is
 * closed (1008) when the key it was opened with is revoked.
 */
export function websocketRoutes(hub: WebsocketHub): FastifyPluginAsync {
  return async (api) => {
    api.get(
      '/v1.0/ws',
      {
        websocket: true,
        schema: {
          tags: ['events'],
          summary: 'Event subscriptions over WebSocket',
          description:
            'Upgrade to WebSocket. Send {"type":"subscribe","topics":["customer_id:<id>:<resource>[:<resource id>]"], "since"?: <seq>}; receive {"id", "seq", "type": <event type>, "data": <resource>}. With since (or ?since=), the kept events after that sequence number come first.',
          security: keySecurity,
        },
      },
      (socket, request) => {
        // Read here, not in the route schema: the access key shares the query, and a bad `since` is told over the socket.
        const query = websocketQuerySchema.safeParse(request.query);
        if (!query.success) {
          socket.send(JSON.stringify({ type: 'error', message: 'since: must be a whole number of 0 or more' }));
          socket.close(1008, 'bad since');
          return;
        }
        hub.add(socket, callerOf(request), { since: query.data.since });
      },
    );
  };
}
