import { toolsSuite } from './tools-suite.ts';

toolsSuite('simulator');
