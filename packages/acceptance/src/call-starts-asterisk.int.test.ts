import { callStartsSuite } from './call-starts-suite.ts';

callStartsSuite('asterisk');
