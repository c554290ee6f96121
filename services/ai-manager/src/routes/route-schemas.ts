import { listQuerySchema } from '@avp/shared';

// The helpers live in @avp/shared (flow-manager's public routes use them too).
export { idParamsSchema, keySecurity, listResponseSchema, routeResponses as responses } from '@avp/shared';

/** `page_size` and `page_token` (plus the access key forms, which the key check reads). */
export const pageQuerySchema = listQuerySchema;
