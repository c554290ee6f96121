import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** The stdio bin of `@avp/mcp`, run with `npx tsx` as the README tells MCP clients to. */
export const mcpStdioBin = fileURLToPath(new URL('../../../mcp/src/stdio.ts', import.meta.url));

/** What a tool answered: its text and whether it is a tool error. */
export interface ToolAnswer {
  isError: boolean;
  text: string;
  /** The text as JSON (throws when it is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

/** An MCP client session as an assistant holds one, with a helper to call tools. */
export interface McpSession {
  client: Client;
  /** Calls a tool; a tool error is an answer, not a throw. */
  call(name: string, args?: Record<string, unknown>): Promise<ToolAnswer>;
  /** Calls a tool that must succeed and answers its JSON. */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

function session(client: Client): McpSession {
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> => {
    const result = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { type: string; text?: string }[] };
    const text = result.content.map((block) => block.text ?? '').join('\n');
    return { isError: result.isError === true, text, json: <T>() => JSON.parse(text) as T };
  };
  return {
    client,
    call,
    ok: async <T>(name: string, args?: Record<string, unknown>) => {
      const answer = await call(name, args);
      if (answer.isError) throw new Error(`${name} failed: ${answer.text}`);
      return answer.json<T>();
    },
    close: () => client.close(),
  };
}

/** Connects over Streamable HTTP to `url` (`http://host:port/v1.0/mcp`) with an access key. */
export async function connectMcpHttp(url: string, accessKey: string): Promise<McpSession> {
  const client = new Client({ name: 'e2e-assistant', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${accessKey}` } } }));
  return session(client);
}

/** Starts the stdio bin (`npx tsx packages/mcp/src/stdio.ts`) with the given environment and connects to it. */
export async function connectMcpStdio(environment: Record<string, string>): Promise<McpSession> {
  const client = new Client({ name: 'e2e-desktop', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: 'npx',
    args: ['tsx', mcpStdioBin],
    cwd: fileURLToPath(new URL('../../../..', import.meta.url)),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...environment },
    stderr: 'pipe',
  });
  await client.connect(transport);
  return session(client);
}

/** A forwarding HTTP proxy that notes each request (`METHOD /path` and its Authorization header). */
export interface RecordingProxy {
  url: string;
  requests: { line: string; authorization: string }[];
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 forwarding to `http://127.0.0.1:<targetPort>`: stands in for flow-manager's own address. */
export async function startRecordingProxy(targetPort: number): Promise<RecordingProxy> {
  const requests: RecordingProxy['requests'] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ line: `${request.method} ${request.url}`, authorization: request.headers.authorization ?? '' });
      const headers = Object.fromEntries(['authorization', 'content-type', 'accept'].flatMap((name) => (request.headers[name] ? [[name, String(request.headers[name])]] : [])));
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      fetch(`http://127.0.0.1:${targetPort}${request.url}`, { method: request.method, headers, ...(body ? { body } : {}) }).then(
        async (answer) => {
          response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          response.end(Buffer.from(await answer.arrayBuffer()));
        },
        () => {
          response.writeHead(502);
          response.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
