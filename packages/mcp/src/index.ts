export * from './api-client.ts';
export { createPlatformMcpServer, mcpServerInfo } from './mcp-server.ts';
export { mcpMethodNotAllowed, serveMcpPost } from './http-transport.ts';
export { ApiFailure } from './tool-kit.ts';
