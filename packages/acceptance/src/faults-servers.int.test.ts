import { brokerRestart, faultsSuite, postgresOutage, postgresRestart } from './faults-suite.ts';
import { acceptanceTelephony } from './suite.ts';

// The cluster's own PostgreSQL and RabbitMQ restarted or away mid-answer, each three times
// (private servers: the machine's shared ones are never stopped).
faultsSuite('server restarts and outages', acceptanceTelephony(), [postgresRestart, postgresOutage(30), brokerRestart]);
