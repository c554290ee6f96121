import { realAsteriskSkipReason } from '@avp/asterisk-testing';
import { createDatabase, createInProcessBus } from '@avp/shared';
import { createTestPgliteDatabase } from '@avp/shared/testing';
import { describe } from 'vitest';
import { describeTelephony } from './testing/telephony-suite.ts';

// The same calls as against the simulator, on a real Asterisk 23 (built by scripts/asterisk/build.sh).
const skipReason = realAsteriskSkipReason();
if (skipReason) describe.skip(`calls through a real Asterisk (skipped: ${skipReason})`, () => undefined);
else
  describeTelephony(
    'calls through a real Asterisk (PGlite + in-process bus)',
    async () => {
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
    },
    'asterisk',
  );
