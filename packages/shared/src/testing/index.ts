/** Helpers for other packages' tests (to be exported as `@avp/shared/testing`). */
export * from './test-database.ts';
export * from './test-infrastructure.ts';
export * from './wait.ts';
