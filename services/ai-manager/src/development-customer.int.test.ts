import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createDatabase } from '@avp/shared';
import { createTestPgliteDatabase } from '@avp/shared/testing';
import { describe, expect, it } from 'vitest';
import { call, startHarness } from './testing/harness.ts';

describe('development customer (one-process mode)', () => {
  it('is created once, on the first start, with a working key written to a file', async () => {
    const test = await createTestPgliteDatabase();
    const database = await createDatabase(test.options);
    const keyFile = path.join(test.dataDir, 'development-access-key');
    try {
      const first = await startHarness(database, { developmentCustomer: { keyFile } });
      const key = (await readFile(keyFile, 'utf8')).trim();
      expect(key).toMatch(/^avp_/);
      expect((await call(first, 'GET', '/v1.0/customer', { key })).body.name).toBe('development');
      await first.stop();

      const second = await startHarness(database, { developmentCustomer: { keyFile } });
      expect((await readFile(keyFile, 'utf8')).trim()).toBe(key);
      const customers = await call(second, 'GET', '/v1.0/customers', { admin: true });
      expect(customers.body.result).toHaveLength(1);
      await second.stop();
    } finally {
      await database.close();
      await test.drop();
    }
  });

  it('refuses to start without an encryption key', async () => {
    const test = await createTestPgliteDatabase();
    const database = await createDatabase(test.options);
    try {
      await expect(startHarness(database, { engineKeyEncryptionKey: '' })).rejects.toThrow(/ENGINE_KEY_ENCRYPTION_KEY/);
    } finally {
      await database.close();
      await test.drop();
    }
  });
});
