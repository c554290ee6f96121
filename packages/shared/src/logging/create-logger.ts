import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface CreateLoggerOptions {
  /** The service or component name, logged as `service`. */
  name: string;
  level?: string;
  /** Force pretty (true) or JSON (false) output; defaults to pretty only on a TTY. */
  pretty?: boolean;
}

/** Log fields that hold secrets; every logger of the platform censors them. */
export const secretLogPaths = ['engine_key', '*.engine_key', 'headers.authorization', 'req.headers.authorization', 'accesskey.key'];

/**
 * A pino logger: JSON lines by default, human-readable only when stdout is a terminal
 * (or LOG_FORMAT=pretty). LOG_FORMAT=json forces JSON even on a terminal.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const format = process.env.LOG_FORMAT;
  const pretty = options.pretty ?? (format === 'pretty' || (format !== 'json' && process.stdout.isTTY === true));
  const loggerOptions: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: secretLogPaths,
      censor: '<redacted>',
    },
  };
  if (pretty) {
    return pino({
      ...loggerOptions,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(loggerOptions);
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
