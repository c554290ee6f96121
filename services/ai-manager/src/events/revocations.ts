import { revocationEvent, revocationOf, type Bus, type EventEnvelope, type Logger, type Revocation } from '@avp/shared';
import type { KeyAuthenticator } from '../domain/customers/key-authenticator.ts';
import type { WebsocketHub } from './websocket-hub.ts';

/**
 * Makes a revoked key (or a deleted customer) stop working everywhere within moments, not
 * after cache lifetimes: the instance that revokes drops its cached lookups and closes its
 * WebSocket clients at once, then announces the revocation on the bus, where every other
 * ai-manager instance does the same (and flow-manager drops its cached lookups). The hub's
 * periodic key check is the backstop for an announcement that never arrived.
 */
export class Revocations {
  constructor(
    private readonly bus: Bus,
    private readonly serviceName: string,
    private readonly authenticator: KeyAuthenticator,
    private readonly hub: WebsocketHub,
    private readonly logger: Logger,
  ) {}

  /** A key was deleted: applied here, then announced. */
  async keyRevoked(keyId: string, customerId: string): Promise<void> {
    await this.revoked({ keyId }, revocationEvent({ keyId, customerId }));
  }

  /** A customer was deleted (so were its keys): applied here, then announced. */
  async customerRevoked(customerId: string): Promise<void> {
    await this.revoked({ customerId }, revocationEvent({ customerId }));
  }

  /**
   * Applies a revocation announced on the bus (also our own, which is harmless); answers
   * whether the event was one, so it is not pushed to clients as an ordinary event.
   */
  handle(event: EventEnvelope): boolean {
    const revocation = revocationOf(event);
    if (!revocation) return false;
    this.apply(revocation);
    return true;
  }

  private async revoked(revocation: Revocation, event: { type: string; data: unknown }): Promise<void> {
    this.apply(revocation);
    // Not awaited: a bus that is away (publishes retry for up to 10 s) must not hold the admin
    // request; the change is committed, and other instances' periodic key checks and cache
    // lifetimes cover a lost announcement.
    this.bus.publish(this.serviceName, event).catch((error: unknown) => {
      this.logger.error({ err: error, type: event.type }, 'announcing a revocation failed');
    });
  }

  private apply(revocation: Revocation): void {
    this.authenticator.forget(revocation);
    this.hub.revoke(revocation);
  }
}
