import { callControlSuite } from './call-control-suite.ts';

callControlSuite('simulator');
