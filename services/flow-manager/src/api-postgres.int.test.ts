import { createDatabase } from '@avp/shared';
import { createTestPostgresDatabase, findInfrastructure } from '@avp/shared/testing';
import { describeFlowManagerApi } from './testing/api-suite.ts';

describeFlowManagerApi('flow-manager API on PostgreSQL', async () => {
  const postgres = await findInfrastructure('postgres');
  if (!postgres.available) return undefined;
  const test = await createTestPostgresDatabase({ adminUrl: postgres.url });
  const database = await createDatabase(test.options);
  return {
    database,
    cleanup: async () => {
      await database.close();
      await test.drop();
      await postgres.stop();
    },
  };
});
