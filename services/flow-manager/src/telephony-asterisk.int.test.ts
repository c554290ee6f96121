import { realAsteriskSkipReason } from '@avp/asterisk-testing';
import { describe } from 'vitest';
import { describeTelephony, embeddedTelephonyStack } from './testing/telephony-suite.ts';

// The same calls as against the simulator, on a real Asterisk 23 (built by scripts/asterisk/build.sh).
const skipReason = realAsteriskSkipReason();
if (skipReason) describe.skip(`calls through a real Asterisk (skipped: ${skipReason})`, () => undefined);
else describeTelephony('calls through a real Asterisk (PGlite + in-process bus)', embeddedTelephonyStack, 'asterisk');
