/**
 * Delay before retry number `attempt` (1 = after the first failure): `baseMs` doubled each
 * time, capped at `maxMs`, with up to 20 % random jitter so failed deliveries of many
 * customers do not retry in lockstep.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (1 + 0.2 * random()));
}
