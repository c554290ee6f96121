export type { IpRange } from './ip-ranges.ts';
export * from './outbound-environment.ts';
export * from './outbound-policy.ts';
export * from './outbound-post.ts';
