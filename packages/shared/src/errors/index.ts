export * from './error-catalog.ts';
export * from './app-error.ts';
