import { faultsSuite, killAndRestart, stall } from './faults-suite.ts';
import { acceptanceTelephony } from './suite.ts';

// Crashes and stalls of each service mid-answer, each three times, on a cluster with a private
// PostgreSQL and RabbitMQ of its own (the machine's shared servers are never touched).
faultsSuite('crashes and stalls', acceptanceTelephony(), [
  killAndRestart('ai-manager'),
  killAndRestart('flow-manager'),
  stall('ai-manager', 5),
  stall('flow-manager', 5),
  stall('pipeline-manager', 5),
]);
