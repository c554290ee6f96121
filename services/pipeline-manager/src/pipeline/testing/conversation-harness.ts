import { afterEach } from 'vitest';
import type { Conversation } from '../conversation.ts';
import type { FakeTransport } from './fakes.ts';

/**
 * The conversations a test file starts: push each with its transport, and every one still
 * running is stopped (and its transport closed) after each test.
 */
export function runningConversations(): { conversation: Conversation; transport: FakeTransport }[] {
  const running: { conversation: Conversation; transport: FakeTransport }[] = [];
  afterEach(async () => {
    for (const { conversation, transport } of running.splice(0)) {
      await conversation.stop('test over');
      await transport.close();
    }
  });
  return running;
}

/** Resolves once `predicate` holds, polling every 5 ms; rejects after `timeoutMs` naming `what`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
