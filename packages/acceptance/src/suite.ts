import { findAsterisk, realAsteriskSkipReason, type TelephonyKind } from '@avp/asterisk-testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe } from 'vitest';
import { hangUpLeftovers } from './calls.ts';
import { startCluster, type Cluster, type ServiceName } from './cluster.ts';

/**
 * The telephony the acceptance suite runs on: a real Asterisk 23 when one is built here (always
 * in CI, where a missing build fails the run), else the simulator, with a note saying so.
 * `ACCEPTANCE_TELEPHONY=simulator|asterisk` chooses explicitly.
 */
export function acceptanceTelephony(): TelephonyKind {
  const chosen = process.env.ACCEPTANCE_TELEPHONY;
  if (chosen === 'simulator' || chosen === 'asterisk') return chosen;
  const found = findAsterisk();
  if (found.available) return 'asterisk';
  console.warn(`acceptance: running on the Asterisk simulator: ${found.reason}`);
  return 'simulator';
}

/**
 * A describe for a suite on one telephony: titled with it, and skipped with the reason when a
 * real Asterisk was asked for and none is built here (CI fails instead of skipping).
 */
export function describeOn(telephony: TelephonyKind, title: string, body: () => void): void {
  const skipReason = telephony === 'asterisk' ? realAsteriskSkipReason() : undefined;
  const label = telephony === 'asterisk' ? 'real Asterisk 23' : 'Asterisk simulator';
  describe.skipIf(skipReason !== undefined)(`${title} [${label}${skipReason ? `, skipped: ${skipReason}` : ''}]`, body);
}

/**
 * Registers the hooks of an acceptance file: one cluster (three service processes, the
 * telephony, the fake LLM) for all its tests, each test skipped with the reason when
 * PostgreSQL or RabbitMQ is missing, calls a failed test left up hung up after it, the
 * services' log tails printed on a failure and their log files kept.
 */
export function useCluster(
  label: string,
  options: {
    telephony?: TelephonyKind;
    /** The machine's servers (default) or a private PostgreSQL and RabbitMQ of the file's own. */
    servers?: 'shared' | 'private';
    /** More environment per service; a function is called when the cluster starts (after earlier hooks). */
    extraEnvironment?: Partial<Record<ServiceName, Record<string, string>>> | (() => Partial<Record<ServiceName, Record<string, string>>>);
    /** pipeline-manager processes (default 1; a second is `pipeline-manager-2`). */
    pipelineManagers?: number;
  } = {},
): () => Cluster {
  let cluster: Cluster | undefined;
  let skipReason = '';
  let failed = false;

  beforeAll(async () => {
    const extraEnvironment = typeof options.extraEnvironment === 'function' ? options.extraEnvironment() : options.extraEnvironment;
    const started = await startCluster({ label, extraEnvironment, telephony: options.telephony, servers: options.servers, pipelineManagers: options.pipelineManagers });
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
