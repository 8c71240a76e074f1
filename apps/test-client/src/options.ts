import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { RtmpClientOptions } from '@rtmp/client';
import { parseNumber, UsageError } from './common.js';

/** Options every command accepts. */
export const commonOptions = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  'simple-handshake': { type: 'boolean' },
  insecure: { type: 'boolean' },
  ca: { type: 'string' },
  name: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const commonHelp = `Common options:
  --json               machine-readable summary on stdout (one JSON object)
  --timeout <ms>       per-step timeout (connect, createStream, publish/play); default 10000
  --simple-handshake   send the simple handshake instead of the digest (FP9) one
  --name <stream>      stream name (default: the URL's last path segment, query kept)
  --ca <file.pem>      trust this CA for rtmps://
  --insecure           do not verify the rtmps:// server certificate
  -h, --help           this help`;

/** parseArgs with usage errors turned into {@link UsageError}. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({
      args: argv,
      options: { ...commonOptions, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Client options from the common flags. */
export function clientOptions(url: string, values: Record<string, unknown>): RtmpClientOptions {
  const options: RtmpClientOptions = { url };
  if (values['simple-handshake']) options.digest = false;
  options.timeout = parseNumber(values.timeout as string | undefined, 'timeout', 10_000, true);
  if (typeof values.name === 'string') options.streamName = values.name;
  const tls: NonNullable<RtmpClientOptions['tls']> = {};
  if (values.insecure) tls.rejectUnauthorized = false;
  if (typeof values.ca === 'string') {
    try {
      tls.ca = readFileSync(values.ca);
    } catch (error) {
      throw new UsageError(`--ca: ${(error as Error).message}`);
    }
  }
  if (Object.keys(tls).length > 0) options.tls = tls;
  return options;
}
