import { realAsteriskSkipReason } from '@avp/asterisk-testing';
import { describe } from 'vitest';
import { describeRecordings } from './testing/recordings-suite.ts';

// Recordings of calls on a real Asterisk 23 (built by scripts/asterisk/build.sh).
const skipReason = realAsteriskSkipReason();
if (skipReason) describe.skip(`recordings through a real Asterisk (skipped: ${skipReason})`, () => undefined);
else describeRecordings('recordings through a real Asterisk (PGlite + in-process bus)', 'asterisk');
