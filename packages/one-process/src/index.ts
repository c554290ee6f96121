export * from './config.ts';
export * from './start-one-process.ts';
