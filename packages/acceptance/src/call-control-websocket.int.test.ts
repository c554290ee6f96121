import { callControlSuite } from './call-control-suite.ts';
import { acceptanceTelephony } from './suite.ts';

// The same scenarios with the call's audio over Asterisk's WebSocket media channel.
callControlSuite(acceptanceTelephony(), 'websocket');
