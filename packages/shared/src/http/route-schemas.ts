import { z } from 'zod';
import { errorBodySchema } from '../errors/app-error.ts';

/**
 * Building blocks of the public routes' schemas (zod, for fastify-type-provider-zod and
 * the OpenAPI documents of ai-manager and flow-manager).
 */

/** Path `{id}`: checked by the handler so a malformed one is 400 INVALID_ID. */
export const idParamsSchema = z.object({ id: z.string().meta({ format: 'uuid', description: 'The resource id.' }) });

/** `{ result, next_page_token }` of a list endpoint. */
export function listResponseSchema<Item extends z.ZodType>(item: Item) {
  return z.object({ result: z.array(item), next_page_token: z.string() });
}

/** The OpenAPI security schemes of an access key: `Authorization: Bearer`, `?accesskey=`, `?token=`. */
export const accessKeySecuritySchemes = {
  bearerAccessKey: { type: 'http', scheme: 'bearer' },
  accessKeyQuery: { type: 'apiKey', in: 'query', name: 'accesskey' },
  tokenQuery: { type: 'apiKey', in: 'query', name: 'token' },
} as const;

/** Security requirement shown in the OpenAPI document for key-protected routes. */
export const keySecurity: { [scheme: string]: string[] }[] = [{ bearerAccessKey: [] }, { accessKeyQuery: [] }, { tokenQuery: [] }];

/**
 * A route's responses: the success schema (under 200 unless another status is given) plus
 * the catalog error body for 4xx and 5xx, so the OpenAPI document shows both.
 */
export function routeResponses<Success extends z.ZodType, Status extends number = 200>(
  success: Success,
  status?: Status,
): { [code in Status]: Success } & { '4xx': typeof errorBodySchema; '5xx': typeof errorBodySchema } {
  return { [status ?? 200]: success, '4xx': errorBodySchema, '5xx': errorBodySchema } as {
    [code in Status]: Success;
  } & { '4xx': typeof errorBodySchema; '5xx': typeof errorBodySchema };
}
