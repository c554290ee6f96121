import {
  accessKeyCreateSchema,
  accessKeySchema,
  appError,
  createdCustomerSchema,
  customerCreateSchema,
  customerSchema,
  customerUpdateSchema,
  issuedAccessKeySchema,
} from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DomainContext } from '../domain/context.ts';
import {
  changeCustomer,
  createCustomer,
  getCustomer,
  issueAccessKey,
  listCustomerAccessKeys,
  listCustomerPage,
  removeCustomer,
  revokeCustomerAccessKey,
} from '../domain/customers/customer-service.ts';
import type { Revocations } from '../events/revocations.ts';
import { secretsEqual } from '../http/credentials.ts';
import { billingAdminRoutes } from './billing-routes.ts';
import { parseId } from '../http/ids.ts';
import { idParamsSchema, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const tags = ['admin'];
const security = [{ adminToken: [] }];

/**
 * The admin API, guarded by `Authorization: Bearer <ADMIN_TOKEN>`: customers and their
 * access keys. Without an ADMIN_TOKEN every admin request is refused. Deleting a key or a
 * customer revokes at once, everywhere (cached lookups, open WebSocket connections).
 */
export function adminRoutes(domain: DomainContext, revocations: Revocations, adminToken: string | undefined): FastifyPluginAsyncZod {
  return async (api) => {
    api.addHook('onRequest', async (request) => {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
      if (!match?.[1]) throw appError('MISSING_CREDENTIALS', 'The admin API needs Authorization: Bearer <ADMIN_TOKEN>.');
      if (!adminToken || !secretsEqual(match[1], adminToken)) throw appError('INVALID_CREDENTIALS', 'The admin token is not valid.');
    });

    // Billing accounts: balance_add and a customer's account (routes in billing-routes.ts).
    await api.register(billingAdminRoutes(domain));

    api.post('/v1.0/customers', {
      schema: { tags, summary: 'Create a customer with its first access key', security, body: customerCreateSchema, response: responses(createdCustomerSchema) },
      handler: async (request) => createCustomer(domain.db, request.body, domain.outbound, domain.billing),
    });
    api.get('/v1.0/customers', {
      schema: { tags, summary: 'List customers', security, querystring: pageQuerySchema, response: responses(listResponseSchema(customerSchema)) },
      handler: async (request) => listCustomerPage(domain.db, request.query),
    });
    api.get('/v1.0/customers/:id', {
      schema: { tags, summary: 'Get a customer', security, params: idParamsSchema, response: responses(customerSchema) },
      handler: async (request) => getCustomer(domain.db, parseId(request.params.id)),
    });
    api.put('/v1.0/customers/:id', {
      schema: { tags, summary: 'Change a customer', security, params: idParamsSchema, body: customerUpdateSchema, response: responses(customerSchema) },
      handler: async (request) => changeCustomer(domain.db, parseId(request.params.id), request.body, domain.outbound),
    });
    api.delete('/v1.0/customers/:id', {
      schema: { tags, summary: 'Delete a customer and revoke its keys', security, params: idParamsSchema, response: responses(customerSchema) },
      handler: async (request) => {
        const customer = await removeCustomer(domain.db, parseId(request.params.id));
        await revocations.customerRevoked(customer.id);
        return customer;
      },
    });
    api.post('/v1.0/customers/:id/accesskeys', {
      schema: {
        tags,
        summary: 'Issue an access key (the key is shown only in this answer)',
        security,
        params: idParamsSchema,
        body: accessKeyCreateSchema.nullish(),
        response: responses(issuedAccessKeySchema),
      },
      handler: async (request) => issueAccessKey(domain.db, parseId(request.params.id), request.body?.name ?? ''),
    });
    api.get('/v1.0/customers/:id/accesskeys', {
      schema: {
        tags,
        summary: 'List access keys',
        security,
        params: idParamsSchema,
        querystring: pageQuerySchema,
        response: responses(listResponseSchema(accessKeySchema)),
      },
      handler: async (request) => listCustomerAccessKeys(domain.db, parseId(request.params.id), request.query),
    });
    api.delete('/v1.0/customers/:id/accesskeys/:key_id', {
      schema: {
        tags,
        summary: 'Revoke an access key',
        security,
        params: idParamsSchema.extend({ key_id: z.string().meta({ format: 'uuid' }) }),
        response: responses(accessKeySchema),
      },
      handler: async (request) => {
        const key = await revokeCustomerAccessKey(domain.db, parseId(request.params.id), parseId(request.params.key_id, 'key_id'));
        await revocations.keyRevoked(key.id, key.customer_id);
        return key;
      },
    });
  };
}
