import { brokerRestart, endOfSessionFaultsSuite, killAndRestart } from './faults-suite.ts';
import { acceptanceTelephony } from './suite.ts';

// Faults right as the AI ends its session with stop_service (the pipeline ending, the AIcall
// ending, the flow given back and going on): kill -9 of flow-manager and a RabbitMQ restart.
endOfSessionFaultsSuite('the end of a session', acceptanceTelephony(), [killAndRestart('flow-manager'), brokerRestart]);
