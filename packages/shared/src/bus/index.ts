export * from './bus.ts';
export * from './create-bus.ts';
export * from './in-process-bus.ts';
export * from './rabbitmq-bus.ts';
export * from './rpc-router.ts';
export * from './rpc-customer.ts';
export { topicMatches } from './replies.ts';
