import { scenariosSuite } from './scenarios-suite.ts';
import { acceptanceTelephony } from './suite.ts';

scenariosSuite(acceptanceTelephony());
