export { buildConsole, consoleAssetPrefix, loadConsole, type ConsoleAsset, type ConsoleBundle } from './build-console.ts';
export { consoleContentSecurityPolicy } from './security-headers.ts';
