import { consoleContentSecurityPolicy, loadConsole, type ConsoleAsset } from '@avp/console';
import { appError } from '@avp/shared';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/**
 * The web console (`packages/console`) at `/console`: a static page and its hashed assets,
 * built in memory once per process when the routes are registered. No key is needed to load
 * it: the page asks for an access key and every request it makes goes to the public API with
 * that key, like any other client. Served with a strict Content-Security-Policy (scripts and
 * styles from this origin only, nothing inline); the page is revalidated on every load
 * (`no-cache` with an ETag), the assets, whose names carry a hash of their content, are cached
 * for a year (`immutable`). Hidden from the OpenAPI document: it is not part of the API.
 */
export function consoleRoutes(): FastifyPluginAsync {
  return async (scope) => {
    const bundle = await loadConsole();
    const send = (reply: FastifyReply, asset: ConsoleAsset, cacheControl: string) =>
      reply
        .header('content-type', asset.contentType)
        .header('cache-control', cacheControl)
        .header('content-security-policy', consoleContentSecurityPolicy)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
        .send(asset.body);

    // `/console/` answers too (the server ignores a trailing slash).
    scope.get('/console', { schema: { hide: true } }, async (request, reply) => {
      reply.header('etag', bundle.indexEtag);
      if (request.headers['if-none-match'] === bundle.indexEtag) {
        return reply.code(304).header('cache-control', 'no-cache').send();
      }
      return send(reply, bundle.index, 'no-cache');
    });

    scope.get<{ Params: { name: string } }>('/console/assets/:name', { schema: { hide: true } }, async (request, reply) => {
      const asset = bundle.assets.get(request.params.name);
      if (!asset) throw appError('ROUTE_NOT_FOUND', 'The console has no such file.');
      return send(reply, asset, 'public, max-age=31536000, immutable');
    });
  };
}
