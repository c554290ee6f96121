import type { Logger, OutboundPolicy } from '@avp/shared';
import type { Kysely } from 'kysely';
import type { AiManagerTables } from '../db/tables.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import type { BillingService } from './billing/billing-service.ts';
import type { SecretBox } from './secrets/secret-box.ts';

/** What the domain functions work with; the same from HTTP routes and RPC handlers. */
export interface DomainContext {
  db: Kysely<AiManagerTables>;
  events: EventPublisher;
  secrets: SecretBox;
  logger: Logger;
  /** Accounts, balances and usage charges (absent: no balance checks, no accounts opened). */
  billing?: BillingService;
  /** The rule for URLs customers give us to call (webhook_uri), checked when saved and when sent to. */
  outbound: OutboundPolicy;
}
