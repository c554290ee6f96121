import { appError, billingAccountSchema, billingBalanceAddSchema, billingLedgerEntrySchema } from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DomainContext } from '../domain/context.ts';
import type { BillingService } from '../domain/billing/billing-service.ts';
import { toBillingAccount } from '../domain/billing/billing-service.ts';
import { callerOf } from '../http/caller.ts';
import { parseId } from '../http/ids.ts';
import { idParamsSchema, keySecurity, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const tags = ['billing'];
const units = 'Amounts are integer micro-units: 1 unit of the currency = 1,000,000.';

function billingOf(domain: DomainContext): BillingService {
  if (!domain.billing) throw appError('SERVICE_UNAVAILABLE', 'Billing is not configured.');
  return domain.billing;
}

/** `/v1.0/billing-accounts`: the caller's billing account (one per customer) and its ledger. */
export function billingRoutes(domain: DomainContext): FastifyPluginAsyncZod {
  return async (api) => {
    api.get('/v1.0/billing-accounts', {
      schema: {
        tags,
        summary: 'List billing accounts',
        description: units,
        security: keySecurity,
        querystring: pageQuerySchema,
        response: responses(listResponseSchema(billingAccountSchema)),
      },
      handler: async (request) => billingOf(domain).listAccountPage(callerOf(request).customerId, request.query),
    });
    api.get('/v1.0/billing-accounts/:id', {
      schema: { tags, summary: 'Get a billing account', description: units, security: keySecurity, params: idParamsSchema, response: responses(billingAccountSchema) },
      handler: async (request) => billingOf(domain).getAccount(callerOf(request).customerId, parseId(request.params.id)),
    });
    api.get('/v1.0/billing-accounts/:id/ledger', {
      schema: {
        tags,
        summary: "List a billing account's ledger entries, newest first",
        description: `${units} Charges are negative; balance_after is the balance right after the entry.`,
        security: keySecurity,
        params: idParamsSchema,
        querystring: pageQuerySchema,
        response: responses(listResponseSchema(billingLedgerEntrySchema)),
      },
      handler: async (request) => billingOf(domain).ledgerPage(callerOf(request).customerId, parseId(request.params.id), request.query),
    });
  };
}

/** Admin billing routes; registered inside the admin API (its ADMIN_TOKEN check applies). */
export function billingAdminRoutes(domain: DomainContext): FastifyPluginAsyncZod {
  const security = [{ adminToken: [] }];
  return async (api) => {
    api.post('/v1.0/billing-accounts/:id/balance_add', {
      schema: {
        tags: ['admin'],
        summary: 'Add balance to a billing account (a top_up ledger entry)',
        description: `${units} Body: {amount (positive micro-units), detail?}. Answers the account.`,
        security,
        params: idParamsSchema,
        body: billingBalanceAddSchema,
        response: responses(billingAccountSchema),
      },
      handler: async (request) => billingOf(domain).addBalance(parseId(request.params.id), request.body.amount, request.body.detail),
    });
    api.get('/v1.0/customers/:id/billing-account', {
      schema: {
        tags: ['admin'],
        summary: "Get a customer's billing account",
        description: units,
        security,
        params: idParamsSchema,
        response: responses(billingAccountSchema),
      },
      handler: async (request) => toBillingAccount(await billingOf(domain).accountOf(parseId(request.params.id))),
    });
  };
}
