import { callControlSuite } from './call-control-suite.ts';

callControlSuite('asterisk');
