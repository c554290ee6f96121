export * from './common-environment.ts';
export * from './service-definition.ts';
export * from './start-platform.ts';
export * from './repeating-check.ts';
