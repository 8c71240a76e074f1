import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Limits enforced by the app on top of the server's own protocol limits. */
export interface IngestLimits {
  /** Simultaneous RTMP connections (publishers + players + idle); more are refused at connect. */
  readonly maxConnections: number;
  /** Simultaneous publishing streams. */
  readonly maxPublishers: number;
  /** Players per stream key. */
  readonly maxPlayersPerStream: number;
  /** Milliseconds to wait for the `--keys-url` callback before denying. */
  readonly keysUrlTimeoutMs: number;
  /** A GOP bigger than this many bytes is reported as huge (warning only). */
  readonly hugeGopBytes: number;
  /** A keyframe interval longer than this many milliseconds is reported (warning only). */
  readonly maxKeyframeIntervalMs: number;
}

/** TLS (RTMPS) listener settings. */
export interface IngestTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  readonly port: number;
}

/** The fully validated configuration of the ingest server. */
export interface IngestConfig {
  readonly host: string;
  readonly port: number;
  readonly httpPort: number;
  /** Application names accepted in `rtmp://host/<app>/<key>`. */
  readonly apps: readonly string[];
  /** Allowed stream keys; `null` accepts any key (unless {@link keysUrl} decides). */
  readonly keys: readonly string[] | null;
  /** HTTP callback deciding publish/play; `null` when unused. */
  readonly keysUrl: string | null;
  readonly record: boolean;
  /** Absolute directory where recordings are written. */
  readonly recordDir: string;
  readonly tls: IngestTlsConfig | null;
  readonly limits: IngestLimits;
  readonly logLevel: LogLevel;
  /** Seconds between the periodic per-stream statistics log lines. */
  readonly statsIntervalSec: number;
  /** Shutdown: E-RTMP reconnect requests to the clients that follow them (see {@link IngestReconnect}). */
  readonly reconnect: IngestReconnect;
}

/**
 * On shutdown, clients that announced E-RTMP reconnect support are asked to connect again (to `tcUrl`, or to the
 * URL they used, which a load balancer sends elsewhere once `/healthz` is 503) and get `graceSec` to leave before
 * they are closed. `graceSec` 0 turns this off.
 */
export interface IngestReconnect {
  readonly graceSec: number;
  /** Where to send them: `rtmp[s]://host[:port]/app`, or a path such as `/live` on the same host; null: same URL. */
  readonly tcUrl: string | null;
}

/** Raised for any invalid setting; the CLI prints {@link ConfigError.messages} and exits with code 2. */
export class ConfigError extends Error {
  /** Stable code for programmatic checks. */
  readonly code = 'ERR_INGEST_CONFIG';
  /** One human-readable line per problem found. */
  readonly messages: readonly string[];
  constructor(messages: readonly string[]) {
    super(messages.join('\n'));
    this.name = 'ConfigError';
    this.messages = messages;
  }
}

type Kind = 'port' | 'int' | 'string' | 'bool' | 'list' | 'keys' | 'url' | 'host' | 'level';

interface OptionSpec {
  /** Config-file key (camelCase). */
  readonly key: string;
  /** CLI flag without the leading dashes. */
  readonly flag: string;
  readonly kind: Kind;
  readonly help: string;
  readonly def?: string;
  readonly min?: number;
  readonly max?: number;
}

/**
 * Every setting, in one table that drives flags, environment variables, the config file and `--help`,
 * so the four can never disagree.
 */
export const OPTIONS: readonly OptionSpec[] = [
  { key: 'port', flag: 'port', kind: 'port', help: 'RTMP listen port', def: '1935' },
  {
    key: 'httpPort',
    flag: 'http-port',
    kind: 'port',
    help: 'HTTP API/metrics port (0 disables)',
    def: '8080',
  },
  {
    key: 'host',
    flag: 'host',
    kind: 'host',
    help: 'Address to listen on (RTMP, RTMPS and HTTP)',
    def: '0.0.0.0',
  },
  {
    key: 'apps',
    flag: 'apps',
    kind: 'list',
    help: 'Allowed application names, comma separated',
    def: 'live',
  },
  {
    key: 'keys',
    flag: 'keys',
    kind: 'keys',
    help: 'Allowed stream keys: comma list, or @file with one key per line (default: any key)',
  },
  {
    key: 'keysUrl',
    flag: 'keys-url',
    kind: 'url',
    help: 'HTTP callback deciding publish/play: POST JSON {action, app, key, query, ip}, 2xx allows',
  },
  {
    key: 'record',
    flag: 'record',
    kind: 'bool',
    help: 'Record every publish to FLV (default: on when --record-dir is given)',
  },
  {
    key: 'recordDir',
    flag: 'record-dir',
    kind: 'string',
    help: 'Directory for recordings',
    def: 'recordings',
  },
  { key: 'tlsCert', flag: 'tls-cert', kind: 'string', help: 'PEM certificate file; enables RTMPS' },
  { key: 'tlsKey', flag: 'tls-key', kind: 'string', help: 'PEM private key file for RTMPS' },
  { key: 'rtmpsPort', flag: 'rtmps-port', kind: 'port', help: 'RTMPS listen port', def: '443' },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    kind: 'int',
    help: 'Max simultaneous RTMP connections',
    def: '1000',
    min: 1,
    max: 1_000_000,
  },
  {
    key: 'maxPublishers',
    flag: 'max-publishers',
    kind: 'int',
    help: 'Max simultaneous publishers',
    def: '100',
    min: 1,
    max: 100_000,
  },
  {
    key: 'maxPlayersPerStream',
    flag: 'max-players',
    kind: 'int',
    help: 'Max players per stream',
    def: '500',
    min: 1,
    max: 1_000_000,
  },
  {
    key: 'keysUrlTimeoutMs',
    flag: 'keys-url-timeout',
    kind: 'int',
    help: 'Milliseconds to wait for --keys-url before denying',
    def: '5000',
    min: 100,
    max: 120_000,
  },
  {
    key: 'hugeGopBytes',
    flag: 'huge-gop-bytes',
    kind: 'int',
    help: 'Warn when one GOP exceeds this many bytes',
    def: String(32 * 1024 * 1024),
    min: 1024,
    max: 2 ** 31,
  },
  {
    key: 'maxKeyframeIntervalMs',
    flag: 'max-keyframe-interval',
    kind: 'int',
    help: 'Warn when no keyframe arrives for this many milliseconds',
    def: '10000',
    min: 100,
    max: 3_600_000,
  },
  {
    key: 'statsInterval',
    flag: 'stats-interval',
    kind: 'int',
    help: 'Seconds between per-stream statistics log lines',
    def: '5',
    min: 1,
    max: 3600,
  },
  {
    key: 'reconnectGrace',
    flag: 'reconnect-grace',
    kind: 'int',
    help: 'On shutdown, seconds for clients that follow E-RTMP reconnect requests to move (0: off)',
    def: '0',
    min: 0,
    max: 600,
  },
  {
    key: 'reconnectUrl',
    flag: 'reconnect-url',
    kind: 'string',
    help: 'With --reconnect-grace: where to send them, rtmp[s]://host[:port]/app or /app (default: the URL they used)',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    kind: 'level',
    help: `Log level: ${LOG_LEVELS.join(', ')}`,
    def: 'info',
  },
];

/** Environment variable name for an option, e.g. `httpPort` -> `RTMP_INGEST_HTTP_PORT`. */
export function envName(spec: { readonly flag: string }): string {
  return `RTMP_INGEST_${spec.flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Environment variable naming the config file. */
export const CONFIG_ENV = 'RTMP_INGEST_CONFIG';

/** What the command line asked for besides settings. */
export type CliAction = { kind: 'run'; config: IngestConfig } | { kind: 'help' } | { kind: 'version' };

/** Help text printed by `--help`. */
export function helpText(): string {
  const lines = [
    'Usage: rtmp-ingest [options]',
    '',
    'RTMP ingest server: publish with OBS/FFmpeg to rtmp://<host>/live/<key>, play the same URL.',
    '',
    'Options (flag / environment variable / config file key):',
  ];
  for (const o of OPTIONS) {
    const flag = o.kind === 'bool' ? `--${o.flag}, --no-${o.flag}` : `--${o.flag} <value>`;
    lines.push(`  ${flag}`);
    lines.push(`      ${o.help}${o.def !== undefined ? ` (default: ${o.def})` : ''}`);
    lines.push(`      env ${envName(o)}, config "${o.key}"`);
  }
  lines.push('  --config <file.json>');
  lines.push(`      JSON file with any of the keys above (env ${CONFIG_ENV})`);
  lines.push('  -h, --help       Show this help');
  lines.push('  -v, --version    Show the version');
  lines.push('');
  lines.push('Precedence: flags > environment > config file > defaults.');
  return lines.join('\n');
}

type Raw = { value: string | boolean | number | readonly unknown[]; source: string };

function parseArgv(argv: readonly string[], errors: string[]): { raw: Map<string, Raw>; action?: string } {
  const raw = new Map<string, Raw>();
  let action: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      action = 'help';
      continue;
    }
    if (arg === '-v' || arg === '--version') {
      action ??= 'version';
      continue;
    }
    // `pnpm start -- --port 1935` hands the `--` separator on to us: it separates nothing here.
    if (arg === '--') continue;
    if (!arg.startsWith('--')) {
      errors.push(`unexpected argument "${arg}" (options start with --; see --help)`);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let inline: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (name === 'config') {
      const v = inline ?? argv[++i];
      if (v === undefined) errors.push('--config needs a value');
      else raw.set('config', { value: v, source: '--config' });
      continue;
    }
    let negated = false;
    let spec = OPTIONS.find((o) => o.flag === name);
    if (spec === undefined && name.startsWith('no-')) {
      spec = OPTIONS.find((o) => o.flag === name.slice(3) && o.kind === 'bool');
      negated = spec !== undefined;
      if (negated) name = name.slice(3);
    }
    if (spec === undefined) {
      errors.push(`unknown option --${name} (see --help)`);
      continue;
    }
    if (spec.kind === 'bool') {
      if (negated) {
        if (inline !== undefined) errors.push(`--no-${name} takes no value`);
        raw.set(spec.key, { value: false, source: `--no-${name}` });
      } else {
        raw.set(spec.key, { value: inline ?? true, source: `--${name}` });
      }
      continue;
    }
    if (inline === undefined) {
      inline = argv[i + 1];
      if (inline === undefined || inline.startsWith('--')) {
        errors.push(`--${name} needs a value`);
        continue;
      }
      i++;
    }
    raw.set(spec.key, { value: inline, source: `--${name}` });
  }
  return action === undefined ? { raw } : { raw, action };
}

function readConfigFile(file: string, errors: string[]): Map<string, Raw> {
  const out = new Map<string, Raw>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    errors.push(`cannot read config file ${file}: ${(e as Error).message}`);
    return out;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    errors.push(`config file ${file} is not valid JSON: ${(e as Error).message}`);
    return out;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    errors.push(`config file ${file} must hold a JSON object`);
    return out;
  }
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    const spec = OPTIONS.find((o) => o.key === k);
    if (spec === undefined) {
      errors.push(`config file ${file}: unknown key "${k}"`);
      continue;
    }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || Array.isArray(v)) {
      out.set(k, { value: v, source: `config file key "${k}"` });
    } else {
      errors.push(`config file ${file}: key "${k}" must be a string, number, boolean or array`);
    }
  }
  return out;
}

function toStr(r: Raw): string {
  return Array.isArray(r.value) ? r.value.map(String).join(',') : String(r.value);
}

function splitList(s: string): string[] {
  return s
    .split(/[,\n\r]/)
    .map((x) => x.trim())
    .filter((x) => x.length > 0 && !x.startsWith('#'));
}

const NAME_RE = /^[A-Za-z0-9._~-]{1,128}$/;

// An absolute rtmp(s) URL with a host, or a reference the client resolves against its own tcUrl (`/app`, `//host/app`).
function isReconnectTarget(s: string): boolean {
  if (s.startsWith('/')) return true;
  try {
    const u = new URL(s);
    return (u.protocol === 'rtmp:' || u.protocol === 'rtmps:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * Builds and validates the configuration from command-line arguments, environment and optional config file.
 * Precedence: flags > environment > file > defaults.
 *
 * @param argv - arguments after the script name (`process.argv.slice(2)`)
 * @param env - environment (`process.env`)
 * @param cwd - base directory for relative paths
 * @throws {@link ConfigError} listing every problem found
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): CliAction {
  const errors: string[] = [];
  const { raw: flags, action } = parseArgv(argv, errors);
  if (action === 'help') return { kind: 'help' };
  if (action === 'version') return { kind: 'version' };

  const fromEnv = new Map<string, Raw>();
  for (const o of OPTIONS) {
    const v = env[envName(o)];
    if (v !== undefined && v !== '') fromEnv.set(o.key, { value: v, source: envName(o) });
  }
  const configFile = flags.get('config')?.value ?? env[CONFIG_ENV];
  const fromFile =
    typeof configFile === 'string' && configFile !== ''
      ? readConfigFile(resolve(cwd, configFile), errors)
      : new Map<string, Raw>();

  const pick = (key: string): Raw | undefined => flags.get(key) ?? fromEnv.get(key) ?? fromFile.get(key);
  const values = new Map<string, unknown>();
  for (const o of OPTIONS) {
    const r = pick(o.key) ?? (o.def !== undefined ? { value: o.def, source: 'default' } : undefined);
    if (r === undefined) continue;
    const where = r.source === 'default' ? `default of ${o.key}` : r.source;
    switch (o.kind) {
      case 'port':
      case 'int': {
        const s = toStr(r).trim();
        const n = typeof r.value === 'number' ? r.value : /^\d+$/.test(s) ? Number(s) : Number.NaN;
        const min = o.kind === 'port' ? 0 : (o.min ?? 0);
        const max = o.kind === 'port' ? 65535 : (o.max ?? Number.MAX_SAFE_INTEGER);
        if (!Number.isInteger(n) || n < min || n > max) {
          errors.push(
            `${where}: "${s}" is not ${o.kind === 'port' ? 'a port' : 'an integer'} in ${min}..${max}`,
          );
        } else values.set(o.key, n);
        break;
      }
      case 'bool': {
        if (typeof r.value === 'boolean') values.set(o.key, r.value);
        else {
          const s = toStr(r).trim().toLowerCase();
          if (['1', 'true', 'yes', 'on'].includes(s)) values.set(o.key, true);
          else if (['0', 'false', 'no', 'off'].includes(s)) values.set(o.key, false);
          else errors.push(`${where}: "${s}" is not a boolean (true/false)`);
        }
        break;
      }
      case 'host': {
        const s = toStr(r).trim();
        if (isIP(s) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(s)) errors.push(`${where}: "${s}" is not a host`);
        else values.set(o.key, s);
        break;
      }
      case 'url': {
        const s = toStr(r).trim();
        let ok = false;
        try {
          const u = new URL(s);
          ok = u.protocol === 'http:' || u.protocol === 'https:';
        } catch {
          ok = false;
        }
        if (!ok) errors.push(`${where}: "${s}" is not an http(s) URL`);
        else values.set(o.key, s);
        break;
      }
      case 'level': {
        const s = toStr(r).trim();
        if (!(LOG_LEVELS as readonly string[]).includes(s)) {
          errors.push(`${where}: "${s}" is not one of ${LOG_LEVELS.join(', ')}`);
        } else values.set(o.key, s);
        break;
      }
      case 'list': {
        const list = Array.isArray(r.value) ? r.value.map(String) : splitList(toStr(r));
        const bad = list.filter((x) => !NAME_RE.test(x));
        if (list.length === 0) errors.push(`${where}: the list is empty`);
        else if (bad.length > 0)
          errors.push(`${where}: invalid name(s) ${bad.map((b) => `"${b}"`).join(', ')}`);
        else values.set(o.key, list);
        break;
      }
      case 'keys': {
        let list: string[] | undefined;
        if (Array.isArray(r.value)) list = r.value.map(String);
        else {
          const s = toStr(r).trim();
          if (s.startsWith('@')) {
            const file = resolve(cwd, s.slice(1));
            try {
              list = splitList(readFileSync(file, 'utf8'));
            } catch (e) {
              errors.push(`${where}: cannot read keys file ${file}: ${(e as Error).message}`);
            }
          } else list = splitList(s);
        }
        if (list !== undefined) {
          if (list.length === 0) errors.push(`${where}: no keys given (omit the option to accept any key)`);
          else if (list.some((k) => k.includes('?') || k.includes('/'))) {
            errors.push(`${where}: keys must not contain "?" or "/"`);
          } else values.set(o.key, list);
        }
        break;
      }
      case 'string': {
        const s = toStr(r).trim();
        if (s === '') errors.push(`${where}: empty value`);
        else values.set(o.key, s);
        break;
      }
    }
  }

  const recordDirGiven = pick('recordDir') !== undefined;
  const record = (values.get('record') as boolean | undefined) ?? recordDirGiven;
  const tlsCert = values.get('tlsCert') as string | undefined;
  const tlsKey = values.get('tlsKey') as string | undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    errors.push('--tls-cert and --tls-key must be given together');
  }
  const port = values.get('port') as number;
  const httpPort = values.get('httpPort') as number;
  const rtmpsPort = values.get('rtmpsPort') as number;
  let tls: IngestTlsConfig | null = null;
  if (tlsCert !== undefined && tlsKey !== undefined) {
    const certFile = resolve(cwd, tlsCert);
    const keyFile = resolve(cwd, tlsKey);
    for (const f of [certFile, keyFile]) {
      try {
        readFileSync(f);
      } catch (e) {
        errors.push(`cannot read TLS file ${f}: ${(e as Error).message}`);
      }
    }
    tls = { certFile, keyFile, port: rtmpsPort };
  } else if (pick('rtmpsPort') !== undefined) {
    errors.push('--rtmps-port needs --tls-cert and --tls-key');
  }
  const used = [
    ['--port', port],
    ['--http-port', httpPort],
    ...(tls ? [['--rtmps-port', rtmpsPort] as const] : []),
  ].filter(([, p]) => typeof p === 'number' && p !== 0);
  for (let i = 0; i < used.length; i++) {
    for (let j = i + 1; j < used.length; j++) {
      if (used[i]![1] === used[j]![1])
        errors.push(`${used[i]![0]} and ${used[j]![0]} are both ${used[i]![1]}`);
    }
  }

  const reconnectUrl = values.get('reconnectUrl') as string | undefined;
  if (reconnectUrl !== undefined && !isReconnectTarget(reconnectUrl)) {
    errors.push(`--reconnect-url: "${reconnectUrl}" is neither an rtmp(s):// URL nor a path starting with /`);
  }
  if (reconnectUrl !== undefined && values.get('reconnectGrace') === 0) {
    errors.push('--reconnect-url needs --reconnect-grace (seconds, > 0)');
  }

  if (errors.length > 0) throw new ConfigError(errors);

  return {
    kind: 'run',
    config: {
      host: values.get('host') as string,
      port,
      httpPort,
      apps: values.get('apps') as string[],
      keys: (values.get('keys') as string[] | undefined) ?? null,
      keysUrl: (values.get('keysUrl') as string | undefined) ?? null,
      record,
      recordDir: resolve(cwd, values.get('recordDir') as string),
      tls,
      limits: {
        maxConnections: values.get('maxConnections') as number,
        maxPublishers: values.get('maxPublishers') as number,
        maxPlayersPerStream: values.get('maxPlayersPerStream') as number,
        keysUrlTimeoutMs: values.get('keysUrlTimeoutMs') as number,
        hugeGopBytes: values.get('hugeGopBytes') as number,
        maxKeyframeIntervalMs: values.get('maxKeyframeIntervalMs') as number,
      },
      logLevel: values.get('logLevel') as LogLevel,
      statsIntervalSec: values.get('statsInterval') as number,
      reconnect: { graceSec: values.get('reconnectGrace') as number, tcUrl: reconnectUrl ?? null },
    },
  };
}
