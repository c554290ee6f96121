export * from './create-http-server.ts';
export * from './error-handler.ts';
export * from './graceful-shutdown.ts';
export * from './health-routes.ts';
export * from './metrics.ts';
export * from './request-id.ts';
export * from './access-key.ts';
export * from './log-serializers.ts';
