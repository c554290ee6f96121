import { z } from 'zod';
import { parseOutboundAllowList, type OutboundAllowList } from './outbound-policy.ts';

/**
 * `OUTBOUND_ALLOWED_HOSTS`: hosts and ranges a customer-given URL may reach although they are
 * internal (comma-separated host names, IPs and CIDRs; empty = public addresses only). For
 * development and tests (`127.0.0.1`), or a receiver on a private network on purpose.
 */
export const outboundEnvironmentSchema = z.object({
  OUTBOUND_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((text, context): OutboundAllowList => {
      try {
        return parseOutboundAllowList(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: `${(error as Error).message}; list host names, IPs or CIDRs, comma-separated` });
        return z.NEVER;
      }
    }),
});

