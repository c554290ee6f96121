import { describeBusContract } from './bus-contract.ts';
import { createInProcessBus, InProcessBroker } from './in-process-bus.ts';

// Every bus of one suite run shares a broker, as processes share one RabbitMQ.
const broker = new InProcessBroker();
describeBusContract('in-process', { newBus: async () => createInProcessBus({ broker }) });
