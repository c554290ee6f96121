import { describe } from 'vitest';
import { callsContract } from './contract/calls-contract.ts';
import { mediaContract } from './contract/media-contract.ts';
import { playbackContract } from './contract/playback-contract.ts';
import { recordingContract } from './contract/recording-contract.ts';
import { snoopContract } from './contract/snoop-contract.ts';

// The telephony contract on the simulator; contract-asterisk.int.test.ts runs the same on a real Asterisk.
describe('telephony contract: calls [Asterisk simulator]', () => callsContract('simulator'));
describe('telephony contract: external media [Asterisk simulator]', () => mediaContract('simulator'));
describe('telephony contract: playback [Asterisk simulator]', () => playbackContract('simulator'));
describe('telephony contract: snoop media legs [Asterisk simulator]', () => snoopContract('simulator'));
describe('telephony contract: recording [Asterisk simulator]', () => recordingContract('simulator'));
