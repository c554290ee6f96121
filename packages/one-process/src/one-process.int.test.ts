import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rpcCall, silentLogger } from '@avp/shared';
import { createTestPostgresDatabase, findInfrastructure } from '@avp/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneProcessEnvironmentSchema } from './config.ts';
import { startOneProcess, type OneProcessPlatform } from './start-one-process.ts';

const services = ['ai-manager', 'flow-manager', 'pipeline-manager'];

/** The same checks on both stacks: embedded (PGlite + in-process bus) and PostgreSQL + RabbitMQ. */
function describeRunMode(name: string, prepare: () => Promise<{ environment: Record<string, string>; cleanup: () => Promise<void> } | undefined>) {
  describe(name, () => {
    let platform: OneProcessPlatform | undefined;
    let dataDir = '';
    let cleanup = async () => undefined as void;

    beforeAll(async () => {
      const prepared = await prepare();
      if (!prepared) return;
      cleanup = prepared.cleanup;
      const environment = oneProcessEnvironmentSchema.parse({ PORT: '0', ...prepared.environment });
      dataDir = environment.DATA_DIR;
      platform = await startOneProcess(environment, silentLogger(), { handleSignals: false });
    });

    afterAll(async () => {
      await platform?.stop();
      await cleanup();
    });

    it('starts every service and is ready', async (context) => {
      if (!platform) return context.skip();
      expect(platform.services.map((service) => service.name)).toEqual(services);
      const ready = await fetch(`${platform.url}/readyz`);
      expect(ready.status).toBe(200);
    });

    it.each(services)('answers an RPC ping from %s over the bus', async (service) => {
      if (!platform) return;
      const reply = await rpcCall<{ service: string; instance_id: string }>(platform.bus, service, 'GET', '/v1/ping');
      expect(reply).toMatchObject({ service, instance_id: expect.any(String) });
    });

    it('answers a call on the built-in Asterisk simulator and runs its flow', async (context) => {
      if (!platform?.asterisk) return context.skip();
      const key = (await readFile(join(dataDir, 'development-access-key'), 'utf8')).trim();
      const post = async (path: string, body: unknown) => {
        const response = await fetch(`${platform!.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(response.status).toBeLessThan(300);
        return (await response.json()) as { id: string };
      };
      const flow = await post('/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'talk', option: { text: 'Welcome to the one process mode.' } }, { type: 'hangup' }] });
      const number = `+1${Date.now()}`;
      await post('/v1.0/numbers', { number, call_flow_id: flow.id });
      const caller = platform.asterisk.placeCall({ app: 'avp', extension: number, callerNumber: '+15550000001' });
      await caller.waitForAudio(20_000);
      await caller.waitForHangup(20_000);
    }, 60_000);

    it('serves ai-manager\'s and flow-manager\'s OpenAPI documents side by side', async (context) => {
      if (!platform) return context.skip();
      const paths = async (url: string) => {
        const response = await fetch(`${platform!.url}${url}`);
        expect(response.status, url).toBe(200);
        return Object.keys(((await response.json()) as { paths: object }).paths);
      };
      const aiManager = await paths('/v1.0/docs/json');
      const flowManager = await paths('/v1.0/docs/flow-manager/json');
      expect(aiManager).toContain('/v1.0/ais');
      expect(aiManager).not.toContain('/v1.0/flows');
      expect(flowManager).toEqual(expect.arrayContaining(['/v1.0/flows', '/v1.0/numbers/{id}', '/v1.0/activeflows/{id}/stop', '/v1.0/calls/{id}/hangup', '/v1.0/conversation_messages']));
      expect(flowManager).not.toContain('/v1.0/ais');
      expect((await fetch(`${platform.url}/v1.0/docs/flow-manager/`)).headers.get('content-type')).toContain('text/html');
    });

    it('answers an unknown public route with the catalog body', async (context) => {
      if (!platform) return context.skip();
      const response = await fetch(`${platform.url}/v1.0/nothing-here`);
      expect(response.status).toBe(404);
      const body = (await response.json()) as { error: { reason: string } };
      expect(body.error.reason).toBe('ROUTE_NOT_FOUND');
    });
  });
}

describeRunMode('one process, embedded (PGlite + in-process bus)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'one-process-'));
  return { environment: { DATA_DIR: dataDir }, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
});

describeRunMode('one process on PostgreSQL + RabbitMQ', async () => {
  const postgres = await findInfrastructure('postgres');
  const rabbitmq = await findInfrastructure('rabbitmq');
  if (!postgres.available || !rabbitmq.available) return undefined;
  const database = await createTestPostgresDatabase({ adminUrl: postgres.url });
  const dataDir = await mkdtemp(join(tmpdir(), 'one-process-pg-'));
  return {
    environment: {
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      RABBITMQ_URL: rabbitmq.url,
      INSTANCE_ID: `one-process-test-${process.pid}`,
      // Other test files serve the same services on this broker.
      BUS_NAMESPACE: `test-one-process-${process.pid}`,
    },
    cleanup: async () => {
      await rm(dataDir, { recursive: true, force: true });
      await database.drop();
      await postgres.stop();
      await rabbitmq.stop();
    },
  };
});
