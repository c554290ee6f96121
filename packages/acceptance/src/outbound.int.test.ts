import { outboundSuite } from './outbound-suite.ts';
import { acceptanceTelephony } from './suite.ts';

outboundSuite(acceptanceTelephony());
