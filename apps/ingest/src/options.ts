/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Whether `text` is one of {@link LOG_LEVELS}. */
export function isLogLevel(text: string): text is LogLevel {
  return LOG_LEVELS.some((level) => level === text);
}

/**
 * How an option's text is read and checked, and so the type of its value (see {@link OptionValues}). A `strings`
 * option may be given several times (`--push a --push b`); in the environment its values are separated by spaces,
 * in the config file it is an array (or one string).
 */
export type OptionKind =
  | 'port'
  | 'int'
  | 'string'
  | 'bool'
  | 'list'
  | 'keys'
  | 'url'
  | 'host'
  | 'level'
  | 'strings';

/** One row of {@link OPTIONS}. */
export interface OptionSpec {
  /** Config-file key (camelCase). */
  readonly key: string;
  /** CLI flag without the leading dashes. */
  readonly flag: string;
  readonly kind: OptionKind;
  readonly help: string;
  /** The default, as it would be typed on the command line (and shown by `--help`). */
  readonly def?: string;
  /** Bounds of an `int` option (a `port` is always 0..65535). */
  readonly min?: number;
  readonly max?: number;
}

/**
 * Every setting, in one table that drives flags, environment variables, the config file and `--help`,
 * so the four can never disagree. Its rows keep their literal keys and kinds, so {@link OptionValues} types each
 * value by its key.
 */
export const OPTIONS = [
  { key: 'port', flag: 'port', kind: 'port', help: 'RTMP listen port', def: '1935' },
  {
    key: 'httpPort',
    flag: 'http-port',
    kind: 'port',
    help: 'HTTP API/metrics port (0 disables)',
    def: '8080',
  },
  {
    key: 'corsOrigin',
    flag: 'cors-origin',
    kind: 'string',
    help: 'Access-Control-Allow-Origin of the HTTP answers (HTTP-FLV players on other sites)',
    def: '*',
  },
  {
    key: 'playWait',
    flag: 'play-wait',
    kind: 'int',
    help: 'HTTP-FLV/WS-FLV: milliseconds a viewer of a stream that is not live waits for it (0: 404 at once)',
    def: '0',
    min: 0,
    max: 3_600_000,
  },
  {
    key: 'maxHttpConnections',
    flag: 'max-http-connections',
    kind: 'int',
    help: 'Max simultaneous HTTP and WebSocket connections (viewers, dashboard, API)',
    def: '10000',
    min: 1,
    max: 1_000_000,
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
  {
    key: 'recordFormat',
    flag: 'record-format',
    kind: 'string',
    help: 'Recording format: flv, or mp4 (fragmented MP4, playable up to its last fragment after a crash)',
    def: 'flv',
  },
  {
    key: 'recordSegment',
    flag: 'record-segment',
    kind: 'int',
    help: 'Split recordings into files of this many seconds, each starting at a keyframe (0: one file)',
    def: '0',
    min: 0,
    max: 86_400,
  },
  {
    key: 'vodDir',
    flag: 'vod-dir',
    kind: 'string',
    help: 'Serve the FLV and MP4/MOV files under this folder as rtmp://host/vod/<file> (video on demand)',
  },
  {
    key: 'hls',
    flag: 'hls',
    kind: 'string',
    help: 'HLS and LL-HLS at http://host:<http-port>/<app>/<key>/index.m3u8: on-demand (muxed from the first request until --hls-idle after the last), always (from each publish), off',
    def: 'on-demand',
  },
  {
    key: 'hlsSegment',
    flag: 'hls-segment',
    kind: 'int',
    help: 'HLS segment duration in seconds, each starting at a keyframe (0: one segment per GOP, at least 1 s)',
    def: '0',
    min: 0,
    max: 60,
  },
  {
    key: 'hlsWindow',
    flag: 'hls-window',
    kind: 'int',
    help: 'HLS segments listed in the playlist (and kept, plus 2)',
    def: '6',
    min: 1,
    max: 100,
  },
  {
    key: 'hlsIdle',
    flag: 'hls-idle',
    kind: 'int',
    help: 'Seconds after the last HLS request before an on-demand muxer stops',
    def: '30',
    min: 1,
    max: 3600,
  },
  {
    key: 'hlsLowLatency',
    flag: 'hls-low-latency',
    kind: 'bool',
    help: 'LL-HLS playlists (parts, preload hints); --no-hls-low-latency serves plain HLS playlists',
    def: 'true',
  },
  {
    key: 'hlsDir',
    flag: 'hls-dir',
    kind: 'string',
    help: 'Also write HLS segments and a plain playlist to <dir>/<app>/<key>/ (memory holds only the last segments)',
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
  // Restream, pull, webhooks, signed URLs and the control API (config-integrations.ts reads and checks them).
  {
    key: 'push',
    flag: 'push',
    kind: 'strings',
    help: 'Push every live stream to <url>/<key> (rtmp:// or rtmps://; repeatable; <app>=<url> for one app)',
  },
  {
    key: 'pushMap',
    flag: 'push-map',
    kind: 'string',
    help: 'JSON file {"<app>/<key>": "<rtmp(s) URL>" | [URLs]}: full push targets per stream (YouTube, Twitch...)',
  },
  {
    key: 'pull',
    flag: 'pull',
    kind: 'strings',
    help: 'Play streams that are not live here from <url>/<key> when a player asks (repeatable; <app>=<url>)',
  },
  {
    key: 'pullIdle',
    flag: 'pull-idle',
    kind: 'int',
    help: 'Seconds a pulled stream keeps its upstream after its last player left',
    def: '10',
    min: 0,
    max: 3600,
  },
  {
    key: 'webhook',
    flag: 'webhook',
    kind: 'strings',
    help: 'POST JSON events (connect, publish, play, *_done, record_done, push_failed) to this URL (repeatable)',
  },
  {
    key: 'webhookSecret',
    flag: 'webhook-secret',
    kind: 'string',
    help: 'Sign webhook bodies: header X-Rtmp-Signature: sha256=<HMAC-SHA256 of the body, hex>',
  },
  {
    key: 'signSecret',
    flag: 'sign-secret',
    kind: 'string',
    help: 'Require signed publish and play URLs (?expires=<unix>&sig=<HMAC>; see rtmp-test-client sign)',
  },
  {
    key: 'signPublishSecret',
    flag: 'sign-publish-secret',
    kind: 'string',
    help: 'Secret for publish URLs only (overrides --sign-secret for publishing)',
  },
  {
    key: 'signPlaySecret',
    flag: 'sign-play-secret',
    kind: 'string',
    help: 'Secret for play URLs only (overrides --sign-secret for playing)',
  },
  {
    key: 'signNms',
    flag: 'sign-nms',
    kind: 'bool',
    help: "Also accept node-media-server's ?sign=<expiry>-<md5> links made with the same secret",
  },
  {
    key: 'apiToken',
    flag: 'api-token',
    kind: 'string',
    help: 'Bearer token of the control API (sessions, kick, recording, pushes); without it only reads are open',
  },
  {
    key: 'apiBind',
    flag: 'api-bind',
    kind: 'string',
    help: 'Who may call /api/* and /metrics: any, or loopback (127.0.0.1/::1 only)',
    def: 'any',
  },
  // A cluster of ingest nodes on Redis (config-cluster.ts reads and checks them).
  {
    key: 'cluster',
    flag: 'cluster',
    kind: 'string',
    help: 'Join a cluster of ingest nodes on this Redis (redis://[user:pass@]host:6379[/db], rediss:// for TLS): one publisher per stream cluster-wide, players on any node',
  },
  {
    key: 'nodeUrl',
    flag: 'node-url',
    kind: 'string',
    help: 'With --cluster: rtmp://host:port where the other nodes and moved publishers reach this node (default: rtmp://<--host or hostname>:<--port>)',
  },
  {
    key: 'nodeId',
    flag: 'node-id',
    kind: 'string',
    help: "With --cluster: this node's id, unique and stable across restarts (default: host:port of --node-url)",
  },
  {
    key: 'clusterTtl',
    flag: 'cluster-ttl',
    kind: 'int',
    help: 'With --cluster: seconds a dead node keeps its streams and its place in the node list',
    def: '5',
    min: 1,
    max: 300,
  },
  {
    key: 'clusterPrefix',
    flag: 'cluster-prefix',
    kind: 'string',
    help: 'With --cluster: prefix of the Redis keys (clusters sharing one Redis need different ones)',
    def: 'rtmp',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    kind: 'level',
    help: `Log level: ${LOG_LEVELS.join(', ')}`,
    def: 'info',
  },
] as const satisfies readonly OptionSpec[];

/** One row of {@link OPTIONS}, with its literal key and kind. */
export type IngestOption = (typeof OPTIONS)[number];
/** A config-file key: `'port'`, `'httpPort'`... */
export type OptionKey = IngestOption['key'];
/** The keys of the options that have a default, and so always a value once the configuration is valid. */
export type DefaultedOptionKey = Extract<IngestOption, { readonly def: string }>['key'];

/** What each {@link OptionKind} is read into. */
interface KindValues {
  port: number;
  int: number;
  string: string;
  bool: boolean;
  list: string[];
  keys: string[];
  url: string;
  host: string;
  level: LogLevel;
  strings: string[];
}

/** The value of every option, by key: `OptionValues['port']` is a number, `OptionValues['apps']` a string list. */
export type OptionValues = { [O in IngestOption as O['key']]: KindValues[O['kind']] };

/** Environment variable name for an option, e.g. `httpPort` -> `RTMP_INGEST_HTTP_PORT`. */
export function envName(spec: { readonly flag: string }): string {
  return `RTMP_INGEST_${spec.flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Environment variable naming the config file. */
export const CONFIG_ENV = 'RTMP_INGEST_CONFIG';

/** Help text printed by `--help`. */
export function helpText(): string {
  const lines = [
    'Usage: rtmp-ingest [options]',
    '',
    'RTMP ingest server: publish with OBS/FFmpeg to rtmp://<host>/live/<key>, play the same URL.',
    '',
    'Options (flag / environment variable / config file key):',
  ];
  for (const option of OPTIONS) {
    const spec: OptionSpec = option;
    const flag = spec.kind === 'bool' ? `--${spec.flag}, --no-${spec.flag}` : `--${spec.flag} <value>`;
    lines.push(`  ${flag}`);
    lines.push(`      ${spec.help}${spec.def !== undefined ? ` (default: ${spec.def})` : ''}`);
    lines.push(`      env ${envName(spec)}, config "${spec.key}"`);
  }
  lines.push('  --config <file.json>');
  lines.push(`      JSON file with any of the keys above (env ${CONFIG_ENV})`);
  lines.push('  -h, --help       Show this help');
  lines.push('  -v, --version    Show the version');
  lines.push('');
  lines.push('Precedence: flags > environment > config file > defaults.');
  return lines.join('\n');
}
