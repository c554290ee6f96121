import { describeRecordings } from './testing/recordings-suite.ts';

// The same recordings as on a real Asterisk, against the simulator.
describeRecordings('recordings through the Asterisk simulator (PGlite + in-process bus)', 'simulator');
