import { customerSchema, customerUpdateSchema } from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DomainContext } from '../domain/context.ts';
import { changeCustomer, getCustomer } from '../domain/customers/customer-service.ts';
import { callerOf } from '../http/caller.ts';
import { keySecurity, responses } from './route-schemas.ts';

const tags = ['customer'];

/** `/v1.0/customer`: the caller's own customer record, where it sets its webhook URI. */
export function customerRoutes(domain: DomainContext): FastifyPluginAsyncZod {
  return async (api) => {
    api.get('/v1.0/customer', {
      schema: { tags, summary: 'Get the calling customer', security: keySecurity, response: responses(customerSchema) },
      handler: async (request) => getCustomer(domain.db, callerOf(request).customerId),
    });
    api.put('/v1.0/customer', {
      schema: {
        tags,
        summary: 'Change the calling customer (name, detail, webhook_uri)',
        security: keySecurity,
        body: customerUpdateSchema,
        response: responses(customerSchema),
      },
      handler: async (request) => changeCustomer(domain.db, callerOf(request).customerId, request.body, domain.outbound),
    });
  };
}
