import { scenariosSuite } from './scenarios-suite.ts';

scenariosSuite('asterisk');
