import { appError, type Logger } from '@avp/shared';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isTransientReportFailure, ReportOutbox, type ReportOutboxSettings } from './report-outbox.ts';

/** A logger whose lines the test reads (the outbox logs through a child of it). */
function recordingLogger() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  const logger = { error: at('error'), warn: at('warn'), info: at('info'), child: () => logger };
  return { logger: logger as unknown as Logger, lines };
}

function outboxWith(settings: Partial<ReportOutboxSettings> = {}) {
  const { logger, lines } = recordingLogger();
  const metrics = new Registry();
  const outbox = new ReportOutbox({ logger, metrics, settings });
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const found = (await metrics.getMetricsAsJSON()).find((entry) => entry.name === name);
    const values = (found?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
    return values.filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted)).reduce((sum, value) => sum + value.value, 0);
  };
  return { outbox, lines, metric };
}

/** A send that resolves when the test says so, recording each attempt's report id. */
function controlledSend(attempts: string[]) {
  const pending: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  const send = (reportId: string) =>
    new Promise<void>((resolve, reject) => {
      attempts.push(reportId);
      pending.push({ resolve, reject });
    });
  return { send, pending };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('ReportOutbox', () => {
  it('sends the reports of one AIcall one at a time, in the order they were made', async () => {
    const { outbox } = outboxWith();
    const sent: string[] = [];
    const gates = controlledSend([]);
    outbox.add('call-a', 'message', async () => {
      await gates.send('first');
      sent.push('first');
    });
    outbox.add('call-a', 'message', async () => void sent.push('second'));
    outbox.add('call-b', 'message', async () => void sent.push('other call'));
    await vi.advanceTimersByTimeAsync(0);
    // The second report of call-a waits for the first; another AIcall does not.
    expect(sent).toEqual(['other call']);
    gates.pending[0]!.resolve();
    await outbox.drained('call-a');
    expect(sent).toEqual(['other call', 'first', 'second']);
  });

  it('retries a transient failure with the same idempotency key, backing off, until it is delivered', async () => {
    const { outbox, metric } = outboxWith({ firstRetryDelayMs: 200, maxRetryDelayMs: 800 });
    const attempts: { id: string; at: number }[] = [];
    const failures = [appError('RPC_TIMEOUT'), appError('SERVICE_UNAVAILABLE'), appError('ROUTE_NOT_FOUND'), appError('INTERNAL'), new Error('socket closed')];
    const start = Date.now();
    const id = outbox.add('call-a', 'message', async (reportId) => {
      attempts.push({ id: reportId, at: Date.now() - start });
      const failure = failures.shift();
      if (failure) throw failure;
    });
    const after: string[] = [];
    outbox.add('call-a', 'message', async () => void after.push('next'));
    await vi.advanceTimersByTimeAsync(10_000);
    await outbox.drained('call-a');
    expect(attempts.map((attempt) => attempt.id)).toEqual(Array(6).fill(id));
    // 200, 400, 800, then capped at 800 ms between attempts.
    expect(attempts.map((attempt) => attempt.at)).toEqual([0, 200, 600, 1400, 2200, 3000]);
    expect(after).toEqual(['next']);
    expect(await metric('pipeline_manager_report_retries_total', { kind: 'message' })).toBe(5);
    expect(await metric('pipeline_manager_reports_dropped_total')).toBe(0);
  });

  it('skips a report ai-manager refuses (4xx) and goes on with the next, logging it', async () => {
    const { outbox, lines, metric } = outboxWith();
    let attempts = 0;
    const sent: string[] = [];
    outbox.add('call-a', 'message', async () => {
      attempts++;
      throw appError('INVALID_STATE', 'The AIcall is terminated and takes no more messages.');
    });
    outbox.add('call-a', 'message', async () => void sent.push('next'));
    await outbox.drained('call-a');
    expect(attempts).toBe(1);
    expect(sent).toEqual(['next']);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'ai-manager refused a report; skipped' }));
    expect(await metric('pipeline_manager_reports_dropped_total', { reason: 'refused', kind: 'message' })).toBe(1);
  });

  it('gives a report up as lost, loudly, only after retrying for retryForMs', async () => {
    const { outbox, lines, metric } = outboxWith({ retryForMs: 60_000 });
    const attempts: number[] = [];
    const start = Date.now();
    outbox.add('call-a', 'usage', async () => {
      attempts.push(Date.now() - start);
      throw appError('RPC_TIMEOUT');
    });
    let drained = false;
    void outbox.drained('call-a').then(() => (drained = true));
    await vi.advanceTimersByTimeAsync(59_000);
    expect(drained).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(drained).toBe(true);
    expect(attempts.at(-1)).toBeGreaterThanOrEqual(60_000);
    expect(lines.filter((line) => line.level === 'error')).toEqual([
      expect.objectContaining({ message: 'could not deliver a report to ai-manager: it is LOST', fields: expect.objectContaining({ aicallId: 'call-a', kind: 'usage' }) }),
    ]);
    expect(await metric('pipeline_manager_reports_dropped_total', { reason: 'gave_up' })).toBe(1);
    expect(outbox.size).toBe(0);
  });

  it('holds at most `capacity` reports, drops (and counts) what comes beyond, but never an essential one', async () => {
    const { outbox, metric, lines } = outboxWith({ capacity: 2 });
    const gates = controlledSend([]);
    expect(outbox.add('call-a', 'message', () => gates.send('a'))).toBeDefined();
    expect(outbox.add('call-b', 'message', () => gates.send('b'))).toBeDefined();
    expect(outbox.add('call-c', 'message', () => gates.send('c'))).toBeUndefined();
    expect(outbox.add('call-c', 'event', () => gates.send('c end'), { essential: true })).toBeDefined();
    expect(outbox.size).toBe(3);
    expect(await metric('pipeline_manager_reports_queued')).toBe(3);
    expect(await metric('pipeline_manager_reports_dropped_total', { reason: 'buffer_full' })).toBe(1);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', message: 'report buffer full: a report to ai-manager is LOST' }));
    await vi.advanceTimersByTimeAsync(0);
    for (const gate of gates.pending) gate.resolve();
    await outbox.drainedAll();
    expect(outbox.size).toBe(0);
    expect(await metric('pipeline_manager_reports_queued')).toBe(0);
    // Room again once delivered.
    expect(outbox.add('call-c', 'message', async () => undefined)).toBeDefined();
  });

  it('keeps a key given to it (a usage id) and makes a new one per report otherwise', async () => {
    const { outbox } = outboxWith();
    const ids: string[] = [];
    outbox.add('call-a', 'usage', async (id) => void ids.push(id), { id: 'usage-1' });
    outbox.add('call-a', 'message', async (id) => void ids.push(id));
    outbox.add('call-a', 'message', async (id) => void ids.push(id));
    await outbox.drained('call-a');
    expect(ids[0]).toBe('usage-1');
    expect(ids[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(3);
  });
});

describe('isTransientReportFailure', () => {
  it('retries what may pass (no answer, no broker, no consumer, 5xx, 429) and not what ai-manager decided', () => {
    for (const reason of ['RPC_TIMEOUT', 'SERVICE_UNAVAILABLE', 'ROUTE_NOT_FOUND', 'INTERNAL', 'RATE_LIMITED'] as const) {
      expect(isTransientReportFailure(appError(reason)), reason).toBe(true);
    }
    for (const reason of ['VALIDATION_FAILED', 'RESOURCE_NOT_FOUND', 'INVALID_STATE', 'RESOURCE_ALREADY_EXISTS'] as const) {
      expect(isTransientReportFailure(appError(reason)), reason).toBe(false);
    }
  });
});
