import { callStartsSuite } from './call-starts-suite.ts';
import { acceptanceTelephony } from './suite.ts';

callStartsSuite(acceptanceTelephony());
