export { AriTestClient, AriTestError, type AriTestEvent } from './ari-test-client.ts';
export { AsteriskPhones, type PhoneCallOptions } from './asterisk-phones.ts';
export { asteriskConfigDirectory, findAsterisk, renderTemplate, startRealAsterisk, type AsteriskAvailability, type AsteriskInstallation, type RealAsterisk } from './real-asterisk.ts';
export { realAsteriskSkipReason, startTestTelephony, type TelephonyKind, type TestCallOptions, type TestTelephony } from './test-telephony.ts';
