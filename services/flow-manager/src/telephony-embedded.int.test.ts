import { describeTelephony, embeddedTelephonyStack } from './testing/telephony-suite.ts';

describeTelephony('calls through the Asterisk simulator (PGlite + in-process bus)', embeddedTelephonyStack);
