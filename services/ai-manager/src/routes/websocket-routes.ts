import type { FastifyPluginAsync } from 'fastify';
import type { WebsocketHub } from '../events/websocket-hub.ts';
import { callerOf } from '../http/caller.ts';
import { keySecurity } from './route-schemas.ts';

/**
 * `GET /v1.0/ws`: a WebSocket for event pushes. Clients send
 * `{"type":"subscribe","topics":["customer_id:<id>:aicall"]}` (or `unsubscribe`) and get
 * `{"type": <event type>, "data": <resource>}` for every matching event. The connection is
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
            'Upgrade to WebSocket. Send {"type":"subscribe","topics":["customer_id:<id>:<resource>[:<resource id>]"]}; receive {"type": <event type>, "data": <resource>}.',
          security: keySecurity,
        },
      },
      (socket, request) => {
        hub.add(socket, callerOf(request));
      },
    );
  };
}
