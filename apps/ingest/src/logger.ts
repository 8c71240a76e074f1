import pino from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from './options.js';

/** The logger type used across the app (a pino logger). */
export type Logger = pino.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  readonly level: LogLevel;
  /** Force pretty (`true`) or JSON (`false`) output; default: pretty when stdout is a TTY. */
  readonly pretty?: boolean;
}

/**
 * Creates the app logger: human-readable on a terminal, one JSON object per line otherwise (for log shippers).
 * Output is synchronous so that the last lines before exit are never lost.
 */
export function createLogger(options: LoggerOptions): Logger {
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  const base = { level: options.level, name: 'rtmp-ingest' };
  if (usePretty) {
    // pino-pretty as an in-process stream, not a transport: no worker thread to flush at exit.
    return pino(
      base,
      pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }),
    );
  }
  return pino(base, pino.destination({ dest: 1, sync: true }));
}
