import { callControlSuite } from './call-control-suite.ts';
import { acceptanceTelephony } from './suite.ts';

callControlSuite(acceptanceTelephony());
