import { createDatabase, createInProcessBus } from '@avp/shared';
import { createTestPgliteDatabase } from '@avp/shared/testing';
import { describeTelephony } from './testing/telephony-suite.ts';

describeTelephony('calls through the Asterisk simulator (PGlite + in-process bus)', async () => {
  const test = await createTestPgliteDatabase();
  const database = await createDatabase(test.options);
  const bus = createInProcessBus();
  return {
    database,
    bus,
    cleanup: async () => {
      await bus.close();
      await database.close();
      await test.drop();
    },
  };
});
