import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { hangUpLeftovers } from './calls.ts';
import { startCluster, type Cluster, type ServiceName } from './cluster.ts';

/**
 * Registers the hooks of an acceptance file: one cluster (three service processes, the
 * simulator, the fake LLM) for all its tests, each test skipped with the reason when
 * PostgreSQL or RabbitMQ is missing, calls a failed test left up hung up after it, the
 * services' log tails printed on a failure and their log files kept.
 */
export function useCluster(label: string, extraEnvironment?: Partial<Record<ServiceName, Record<string, string>>>): () => Cluster {
  let cluster: Cluster | undefined;
  let skipReason = '';
  let failed = false;

  beforeAll(async () => {
    const started = await startCluster({ label, extraEnvironment });
    if (started.skipReason !== undefined) skipReason = started.skipReason;
    else cluster = started.cluster;
  }, 120_000);

  beforeEach((context) => {
    if (!cluster) context.skip(`PostgreSQL or RabbitMQ is not available: ${skipReason}`);
    context.onTestFailed(() => {
      failed = true;
      if (cluster) console.warn(cluster.logTail(30));
    });
  });

  afterEach(async () => {
    if (cluster) await hangUpLeftovers(cluster);
  });

  afterAll(async () => {
    await cluster?.stop({ keepLogs: failed });
  }, 60_000);

  return () => {
    if (!cluster) throw new Error('the cluster is not running');
    return cluster;
  };
}
