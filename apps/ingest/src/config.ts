import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { type IngestClusterSettings, readCluster } from './config-cluster.js';
import { type IngestIntegrations, readIntegrations } from './config-integrations.js';
import {
  configFileOf,
  messageOf,
  type RawSetting,
  type RawSettings,
  readArgv,
  readConfigFile,
  readEnv,
} from './config-sources.js';
import { HLS_MODES, type IngestHlsConfig } from './hls.js';
import {
  type DefaultedOptionKey,
  isLogLevel,
  LOG_LEVELS,
  type LogLevel,
  OPTIONS,
  type OptionKey,
  type OptionSpec,
  type OptionValues,
} from './options.js';
import { RECORD_FORMATS, type RecordFormat } from './recorder-mp4.js';

/** Limits enforced by the app on top of the server's own protocol limits. */
export interface IngestLimits {
  /** Simultaneous RTMP connections (publishers + players + idle); more are refused at connect. */
  readonly maxConnections: number;
  /** Simultaneous publishing streams. */
  readonly maxPublishers: number;
  /** Simultaneous HTTP and WebSocket connections; more are closed at accept. */
  readonly maxHttpConnections: number;
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

/**
 * The fully validated configuration of the ingest server. Push, pull, webhooks, signed URLs and the control API
 * are in {@link IngestIntegrations} (config-integrations.ts), the cluster in {@link IngestClusterSettings}
 * (config-cluster.ts).
 */
export interface IngestConfig extends IngestIntegrations, IngestClusterSettings {
  readonly host: string;
  readonly port: number;
  readonly httpPort: number;
  /** `Access-Control-Allow-Origin` of the HTTP answers (`--cors-origin`). */
  readonly corsOrigin: string;
  /** Milliseconds an HTTP-FLV/WS-FLV viewer of a stream that is not live waits for it (`--play-wait`; 0: 404). */
  readonly playWaitMs: number;
  /** Application names accepted in `rtmp://host/<app>/<key>`. */
  readonly apps: readonly string[];
  /** Allowed stream keys; `null` accepts any key (unless {@link keysUrl} decides). */
  readonly keys: readonly string[] | null;
  /** HTTP callback deciding publish/play; `null` when unused. */
  readonly keysUrl: string | null;
  readonly record: boolean;
  /** Absolute directory where recordings are written. */
  readonly recordDir: string;
  /** `--record-format`: FLV, or fragmented MP4. */
  readonly recordFormat: RecordFormat;
  /** `--record-segment`: seconds per recording file, each starting at a keyframe (0: one file per publish). */
  readonly recordSegmentSec: number;
  readonly tls: IngestTlsConfig | null;
  /** Absolute folder served as `rtmp://host/vod/<file>`, or null (no video on demand). */
  readonly vodDir: string | null;
  /** HLS and LL-HLS over the HTTP port (`--hls`, `--hls-segment`, `--hls-window`, `--hls-idle`, `--hls-low-latency`, `--hls-dir`). */
  readonly hls: IngestHlsConfig;
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

/** What the command line asked for besides settings. */
export type CliAction = { kind: 'run'; config: IngestConfig } | { kind: 'help' } | { kind: 'version' };

/** The valid values read so far; an option is absent when not given (and without default) or invalid. */
type ReadValues = { -readonly [K in OptionKey]?: OptionValues[K] | undefined };

function toStr(r: RawSetting): string {
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

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** A `port` or `int` option: a decimal integer (or a JSON number) within its bounds. */
function readInteger(spec: OptionSpec, r: RawSetting, where: string, errors: string[]): number | undefined {
  const s = toStr(r).trim();
  const n = typeof r.value === 'number' ? r.value : /^\d+$/.test(s) ? Number(s) : Number.NaN;
  const min = spec.kind === 'port' ? 0 : (spec.min ?? 0);
  const max = spec.kind === 'port' ? 65535 : (spec.max ?? Number.MAX_SAFE_INTEGER);
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  errors.push(`${where}: "${s}" is not ${spec.kind === 'port' ? 'a port' : 'an integer'} in ${min}..${max}`);
  return undefined;
}

function readBool(r: RawSetting, where: string, errors: string[]): boolean | undefined {
  if (typeof r.value === 'boolean') return r.value;
  const s = toStr(r).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  errors.push(`${where}: "${s}" is not a boolean (true/false)`);
  return undefined;
}

/** The application names of `--apps`. */
function readNames(r: RawSetting, where: string, errors: string[]): string[] | undefined {
  const list = Array.isArray(r.value) ? r.value.map(String) : splitList(toStr(r));
  const bad = list.filter((x) => !NAME_RE.test(x));
  if (list.length === 0) errors.push(`${where}: the list is empty`);
  else if (bad.length > 0) errors.push(`${where}: invalid name(s) ${bad.map((b) => `"${b}"`).join(', ')}`);
  else return list;
  return undefined;
}

/** The stream keys of `--keys`: a list, or `@file` with one key per line. */
function readKeys(r: RawSetting, where: string, cwd: string, errors: string[]): string[] | undefined {
  let list: string[] | undefined;
  if (Array.isArray(r.value)) list = r.value.map(String);
  else {
    const s = toStr(r).trim();
    if (s.startsWith('@')) {
      const file = resolve(cwd, s.slice(1));
      try {
        list = splitList(readFileSync(file, 'utf8'));
      } catch (e) {
        errors.push(`${where}: cannot read keys file ${file}: ${messageOf(e)}`);
      }
    } else list = splitList(s);
  }
  if (list === undefined) return undefined;
  if (list.length === 0) errors.push(`${where}: no keys given (omit the option to accept any key)`);
  else if (list.some((k) => k.includes('?') || k.includes('/')))
    errors.push(`${where}: keys must not contain "?" or "/"`);
  else return list;
  return undefined;
}

/** Reads and checks every option, by kind; each problem goes to `errors` and leaves the option out. */
function readValues(
  pick: (key: OptionKey) => RawSetting | undefined,
  cwd: string,
  errors: string[],
): ReadValues {
  const values: ReadValues = {};
  for (const option of OPTIONS) {
    const spec: OptionSpec = option;
    const r =
      pick(option.key) ?? (spec.def !== undefined ? { value: spec.def, source: 'default' } : undefined);
    if (r === undefined) continue;
    const where = r.source === 'default' ? `default of ${option.key}` : r.source;
    const s = toStr(r).trim();
    switch (option.kind) {
      case 'port':
      case 'int':
        values[option.key] = readInteger(spec, r, where, errors);
        break;
      case 'bool':
        values[option.key] = readBool(r, where, errors);
        break;
      case 'host':
        if (isIP(s) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(s)) errors.push(`${where}: "${s}" is not a host`);
        else values[option.key] = s;
        break;
      case 'url':
        if (!isHttpUrl(s)) errors.push(`${where}: "${s}" is not an http(s) URL`);
        else values[option.key] = s;
        break;
      case 'level':
        if (!isLogLevel(s)) errors.push(`${where}: "${s}" is not one of ${LOG_LEVELS.join(', ')}`);
        else values[option.key] = s;
        break;
      case 'list':
        values[option.key] = readNames(r, where, errors);
        break;
      case 'keys':
        values[option.key] = readKeys(r, where, cwd, errors);
        break;
      case 'string':
        if (s === '') errors.push(`${where}: empty value`);
        else values[option.key] = s;
        break;
      case 'strings':
        values[option.key] = Array.isArray(r.value)
          ? r.value.map(String).filter((x) => x !== '')
          : s.split(/\s+/).filter((x) => x !== '');
        break;
    }
  }
  return values;
}

/** The checks that span options: TLS files in pairs, distinct ports, a reconnect target with a grace period. */
function checkTogether(
  values: ReadValues,
  given: (key: OptionKey) => boolean,
  cwd: string,
  errors: string[],
): void {
  const { tlsCert, tlsKey, reconnectUrl } = values;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    errors.push('--tls-cert and --tls-key must be given together');
  }
  const tls = tlsCert !== undefined && tlsKey !== undefined;
  if (tls) {
    for (const file of [resolve(cwd, tlsCert), resolve(cwd, tlsKey)]) {
      try {
        readFileSync(file);
      } catch (e) {
        errors.push(`cannot read TLS file ${file}: ${messageOf(e)}`);
      }
    }
  } else if (given('rtmpsPort')) {
    errors.push('--rtmps-port needs --tls-cert and --tls-key');
  }
  const ports: [flag: string, port: number | undefined][] = [
    ['--port', values.port],
    ['--http-port', values.httpPort],
  ];
  if (tls) ports.push(['--rtmps-port', values.rtmpsPort]);
  const used = ports.filter(([, port]) => port !== undefined && port !== 0);
  for (let i = 0; i < used.length; i++) {
    for (let j = i + 1; j < used.length; j++) {
      const [a, port] = used[i]!;
      const [b, other] = used[j]!;
      if (port === other) errors.push(`${a} and ${b} are both ${port}`);
    }
  }
  if (values.recordFormat !== undefined && !RECORD_FORMATS.some((f) => f === values.recordFormat)) {
    errors.push(`--record-format: "${values.recordFormat}" is not one of ${RECORD_FORMATS.join(', ')}`);
  }
  if (values.hls !== undefined && !HLS_MODES.some((m) => m === values.hls)) {
    errors.push(`--hls: "${values.hls}" is not one of ${HLS_MODES.join(', ')}`);
  }
  if (reconnectUrl !== undefined && !isReconnectTarget(reconnectUrl)) {
    errors.push(`--reconnect-url: "${reconnectUrl}" is neither an rtmp(s):// URL nor a path starting with /`);
  }
  if (values.vodDir !== undefined) {
    const dir = resolve(cwd, values.vodDir);
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      // Reported below.
    }
    if (!isDir) errors.push(`--vod-dir: ${dir} is not a folder`);
    if (values.apps?.includes('vod'))
      errors.push('--apps must not include "vod" with --vod-dir (it serves that app)');
  }
  if (reconnectUrl !== undefined && values.reconnectGrace === 0) {
    errors.push('--reconnect-url needs --reconnect-grace (seconds, > 0)');
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
  const fromArgv = readArgv(argv, errors);
  if (fromArgv.action === 'help') return { kind: 'help' };
  if (fromArgv.action === 'version') return { kind: 'version' };

  const fromEnv = readEnv(env);
  const configFile = configFileOf(fromArgv, env);
  const fromFile: RawSettings =
    configFile === undefined ? new Map() : readConfigFile(resolve(cwd, configFile), errors);
  const pick = (key: OptionKey) => fromArgv.settings.get(key) ?? fromEnv.get(key) ?? fromFile.get(key);
  const given = (key: OptionKey) => pick(key) !== undefined;

  const values = readValues(pick, cwd, errors);
  checkTogether(values, given, cwd, errors);
  const integrations = readIntegrations(values, values.apps ?? [], cwd, errors);
  const cluster = readCluster(values, errors);
  if (errors.length > 0) throw new ConfigError(errors);

  // Valid, so every option with a default has a value.
  const value = <K extends DefaultedOptionKey>(key: K): OptionValues[K] => {
    const v = values[key];
    if (v === undefined) throw new Error(`rtmp-ingest: option ${key} has no value`);
    return v;
  };
  const { tlsCert, tlsKey } = values;
  return {
    kind: 'run',
    config: {
      host: value('host'),
      port: value('port'),
      httpPort: value('httpPort'),
      corsOrigin: value('corsOrigin'),
      playWaitMs: value('playWait'),
      apps: value('apps'),
      keys: values.keys ?? null,
      keysUrl: values.keysUrl ?? null,
      record: values.record ?? given('recordDir'),
      recordDir: resolve(cwd, value('recordDir')),
      recordFormat: RECORD_FORMATS.find((f) => f === value('recordFormat')) ?? 'flv',
      recordSegmentSec: value('recordSegment'),
      tls:
        tlsCert === undefined || tlsKey === undefined
          ? null
          : { certFile: resolve(cwd, tlsCert), keyFile: resolve(cwd, tlsKey), port: value('rtmpsPort') },
      vodDir: values.vodDir === undefined ? null : resolve(cwd, values.vodDir),
      hls: {
        mode: HLS_MODES.find((m) => m === value('hls')) ?? 'on-demand',
        segmentSec: value('hlsSegment'),
        window: value('hlsWindow'),
        idleSec: value('hlsIdle'),
        lowLatency: value('hlsLowLatency'),
        dir: values.hlsDir === undefined ? null : resolve(cwd, values.hlsDir),
      },
      limits: {
        maxConnections: value('maxConnections'),
        maxPublishers: value('maxPublishers'),
        maxHttpConnections: value('maxHttpConnections'),
        maxPlayersPerStream: value('maxPlayersPerStream'),
        keysUrlTimeoutMs: value('keysUrlTimeoutMs'),
        hugeGopBytes: value('hugeGopBytes'),
        maxKeyframeIntervalMs: value('maxKeyframeIntervalMs'),
      },
      logLevel: value('logLevel'),
      statsIntervalSec: value('statsInterval'),
      reconnect: { graceSec: value('reconnectGrace'), tcUrl: values.reconnectUrl ?? null },
      ...integrations,
      ...cluster,
    },
  };
}
