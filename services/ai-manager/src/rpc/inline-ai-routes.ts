import { inlineAiReleaseSchema, inlineAiSyncSchema, toAppError, type RpcRouter } from '@avp/shared';
import type { DomainContext } from '../domain/context.ts';
import { releaseInlineAis, syncInlineAis } from '../domain/ais/inline-ai-service.ts';

/**
 * `PUT /v1/inline_ais`: flow-manager, when it saves actions that carry an AI's settings inline
 * (a flow, an activeflow started with actions, outgoing calls with actions), has them checked
 * and stored as the owner's hidden AIs of the named customer (inline-ai-service.ts). An empty
 * list deletes the owner's inline AIs (a deleted flow).
 *
 * `POST /v1/inline_ais/release`: flow-manager, once an activeflow's or outgoing calls' inline
 * AIs can start no more sessions, has them deleted as soon as no session runs them.
 */
export function addInlineAiRoutes(router: RpcRouter, domain: DomainContext): void {
  router.add('PUT', '/v1/inline_ais', async ({ data }) => {
    const parsed = inlineAiSyncSchema.safeParse(data);
    if (!parsed.success) throw toAppError(parsed.error);
    return syncInlineAis(domain, parsed.data);
  });
  router.add('POST', '/v1/inline_ais/release', async ({ data }) => {
    const parsed = inlineAiReleaseSchema.safeParse(data);
    if (!parsed.success) throw toAppError(parsed.error);
    return releaseInlineAis(domain, parsed.data);
  });
}
