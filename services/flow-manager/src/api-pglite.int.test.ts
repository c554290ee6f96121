import { createDatabase } from '@avp/shared';
import { createTestPgliteDatabase } from '@avp/shared/testing';
import { describeFlowManagerApi } from './testing/api-suite.ts';

describeFlowManagerApi('flow-manager API on PGlite', async () => {
  const test = await createTestPgliteDatabase();
  const database = await createDatabase(test.options);
  return {
    database,
    cleanup: async () => {
      await database.close();
      await test.drop();
    },
  };
});
