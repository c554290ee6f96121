import { describe } from 'vitest';
import { callsContract } from './contract/calls-contract.ts';
import { mediaContract } from './contract/media-contract.ts';
import { playbackContract } from './contract/playback-contract.ts';
import { recordingContract } from './contract/recording-contract.ts';
import { snoopContract } from './contract/snoop-contract.ts';
import { realAsteriskSkipReason } from './test-telephony.ts';

// The telephony contract on a real Asterisk 23 (scripts/asterisk/build.sh); the simulator must match it.
const skipReason = realAsteriskSkipReason();
const suffix = skipReason ? `, skipped: ${skipReason}` : '';
describe.skipIf(skipReason !== undefined)(`telephony contract: calls [real Asterisk 23${suffix}]`, () => callsContract('asterisk'));
describe.skipIf(skipReason !== undefined)(`telephony contract: external media [real Asterisk 23${suffix}]`, () => mediaContract('asterisk'));
describe.skipIf(skipReason !== undefined)(`telephony contract: playback [real Asterisk 23${suffix}]`, () => playbackContract('asterisk'));
describe.skipIf(skipReason !== undefined)(`telephony contract: snoop media legs [real Asterisk 23${suffix}]`, () => snoopContract('asterisk'));
describe.skipIf(skipReason !== undefined)(`telephony contract: recording [real Asterisk 23${suffix}]`, () => recordingContract('asterisk'));
