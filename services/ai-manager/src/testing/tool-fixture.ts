import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createDatabase, OutboundPolicy, type Database, type Logger } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import pino from 'pino';
import { expect } from 'vitest';
import { databaseSchema, serviceName } from '../app.ts';
import type { AiManagerTables } from '../db/tables.ts';
import type { DomainContext } from '../domain/context.ts';
import { SecretBox } from '../domain/secrets/secret-box.ts';
import { EventPublisher } from '../events/event-publisher.ts';
import { ToolExecutor, type ToolExecutorOptions, type ToolResult } from '../tools/tool-executor.ts';
import { aiBody, call, createTestCustomer, startHarness, type Harness } from './harness.ts';

/**
 * ai-manager on PGlite for tool tests: AIs and AIcalls are made through its API, and tools
 * run through ToolExecutors built on the same database with the options of each test.
 * Everything the executors log is kept in `logs`.
 */
export interface ToolFixture {
  harness: Harness;
  logs: string[];
  logger: Logger;
  /** A live AIcall of an AI with these tool names. */
  aicall(toolNames: string[]): Promise<string>;
  executor(options: ToolExecutorOptions): ToolExecutor;
  /** Runs a tool call with JSON arguments. */
  run(executor: ToolExecutor, aicallId: string, name: string, args: unknown): Promise<ToolResult>;
  stop(): Promise<void>;
}

export async function startToolFixture(): Promise<ToolFixture> {
  const test: TestPgliteDatabase = await createTestPgliteDatabase();
  const database: Database = await createDatabase(test.options);
  const harness = await startHarness(database);
  const customer = await createTestCustomer(harness, 'tools');
  const logs: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString());
        callback();
      },
    }),
  );
  const domain: DomainContext = {
    db: database.forSchema<AiManagerTables>(databaseSchema),
    events: new EventPublisher(harness.bus, serviceName, databaseSchema, logger),
    secrets: SecretBox.fromEncodedKey(randomBytes(32).toString('base64')),
    logger,
    outbound: new OutboundPolicy(),
  };
  let calls = 0;
  return {
    harness,
    logs,
    logger,
    async aicall(toolNames) {
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ tool_names: toolNames }) });
      expect(ai.status).toBe(200);
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key: customer.key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      expect(aicall.status).toBe(200);
      return aicall.body.id as string;
    },
    executor: (options) => new ToolExecutor(domain, harness.bus, logger, serviceName, options),
    run: (executor, aicallId, name, args) => executor.execute(aicallId, { customer_id: customer.id, id: `call-${++calls}`, name, arguments: JSON.stringify(args) }),
    async stop() {
      await harness.stop();
      await database.close();
      await test.drop();
    },
  };
}
