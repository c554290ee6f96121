import { faultsSuite, killAndRestart, postgresRestart } from './faults-suite.ts';
import { acceptanceTelephony } from './suite.ts';

// Faults injected mid-answer into calls through the three processes, on a private PostgreSQL and
// RabbitMQ (the machine's shared servers are never stopped). In the `alone` project: crashes and
// restarts must not share the machine with other tests' timing.
faultsSuite(acceptanceTelephony(), [killAndRestart('ai-manager'), killAndRestart('flow-manager'), postgresRestart]);
