import { afterCallSuite } from './after-call-suite.ts';
import { acceptanceTelephony } from './suite.ts';

afterCallSuite(acceptanceTelephony());
