import { toolsSuite } from './tools-suite.ts';
import { acceptanceTelephony } from './suite.ts';

toolsSuite(acceptanceTelephony());
