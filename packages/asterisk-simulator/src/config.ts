import { env } from '@avp/shared';
import { z } from 'zod';

/** Environment of the standalone simulator (`pnpm simulator`). */
export const simulatorEnvironmentSchema = z.object({
  /** ARI HTTP/WebSocket port (Asterisk's default http.conf port). */
  ARI_PORT: env.port(8088),
  /** Address to listen on; 0.0.0.0 to reach it from other hosts or containers. */
  ARI_HOST: z.string().default('127.0.0.1'),
  ARI_USER: z.string().min(1).default('asterisk'),
  ARI_PASSWORD: z.string().min(1).default('asterisk'),
  /** Address RTP sockets bind to and report in UNICASTRTP_LOCAL_ADDRESS. */
  RTP_ADDRESS: z.string().optional(),
  /** Folder with `<name>.wav` files for `sound:<name>` playbacks. */
  SOUNDS_DIR: z.string().optional(),
  /** websocket_client.conf stand-in: `id=ws://host:port/path,id2=...`. */
  WEBSOCKET_CLIENTS: z
    .string()
    .regex(/^([\w.-]+=wss?:\/\/[^,\s]+)(,[\w.-]+=wss?:\/\/[^,\s]+)*$/, 'expected id=ws://host:port/path[,id2=...]')
    .optional(),
  LOG_LEVEL: env.logLevel(),
});

export type SimulatorEnvironment = z.infer<typeof simulatorEnvironmentSchema>;

export function parseWebSocketClients(value: string | undefined): Record<string, string> {
  const clients: Record<string, string> = {};
  for (const entry of (value ?? '').split(',')) {
    const equals = entry.indexOf('=');
    if (equals > 0) clients[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return clients;
}
