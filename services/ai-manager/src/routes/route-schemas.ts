import { errorBodySchema, listQuerySchema } from '@avp/shared';
import { z } from 'zod';

/** Path `{id}`: checked by `parseId` in the handler so a malformed one is 400 INVALID_ID. */
export const idParamsSchema = z.object({ id: z.string().meta({ format: 'uuid', description: 'The resource id.' }) });

/** `page_size` and `page_token` (plus the access key forms, which the key check reads). */
export const pageQuerySchema = listQuerySchema;

/** `{ result, next_page_token }` of a list endpoint. */
export function listResponseSchema<Item extends z.ZodType>(item: Item) {
  return z.object({ result: z.array(item), next_page_token: z.string() });
}

/** Security requirement shown in the OpenAPI document for key-protected routes. */
export const keySecurity: { [scheme: string]: string[] }[] = [{ bearerAccessKey: [] }, { accessKeyQuery: [] }, { tokenQuery: [] }];

/**
 * A route's responses: the success schema plus the catalog error body for 4xx and 5xx, so
 * the OpenAPI document shows both.
 */
export function responses<Success extends z.ZodType>(success: Success) {
  return { 200: success, '4xx': errorBodySchema, '5xx': errorBodySchema };
}
