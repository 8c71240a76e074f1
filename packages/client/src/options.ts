import * as net from 'node:net';
import type * as tls from 'node:tls';
import { type AmfValue, createAmfObject } from '@rtmp/amf';
import { CONNECTION_DEFAULTS, type RtmpConnectionOptions } from '@rtmp/connection';
import { RtmpClientError, type RtmpServerStatus } from './errors.js';
import { parseRtmpUrl, type RtmpUrl } from './url.js';

/** Per-step controls accepted by every asynchronous method of the client. */
export interface StepOptions {
  /**
   * Aborts the step. The step is withdrawn and the connection stays usable (a pending call is forgotten, a
   * publish or play gets deleteStream), except during connect, whose connection is destroyed.
   */
  signal?: AbortSignal;
  /** Milliseconds allowed for this step; defaults to the client's `timeout`. 0 disables. */
  timeout?: number;
}

/** Options of {@link RtmpClient}. */
export interface RtmpClientOptions {
  /** `rtmp[s]://host[:port]/app[/instance]/stream[?query]`; the parts below override what it says. */
  url?: string;
  /** Server host (required without `url`). */
  host?: string;
  /** Server port. Default 1935, or 443 with `secure`. */
  port?: number;
  /** Use TLS (RTMPS). Default: true for `rtmps://` URLs. */
  secure?: boolean;
  /** Application name sent in `connect` (default: from the URL). */
  app?: string;
  /** Stream name used by {@link RtmpClient.publish}/{@link RtmpClient.play} (default: from the URL, query kept). */
  streamName?: string;
  /** `tcUrl` sent in `connect`. Default: built from the URL (`rtmp://host[:port]/app`). */
  tcUrl?: string;
  /** `flashVer` sent in `connect`. Default `FMLE/3.0 (compatible; rtmp-stack)`. */
  flashVer?: string;
  /** Use the digest (FP9) handshake. Default true; false sends the simple handshake. */
  digest?: boolean;
  /** E-RTMP: the FourCCs this client can handle, sent as `fourCcList`. */
  fourCcList?: readonly string[];
  /** E-RTMP: `capsEx` bits (Reconnect 1, Multitrack 2, ModEx 4, TimestampNanoOffset 8). */
  capsEx?: number;
  /** E-RTMP: `videoFourCcInfoMap` (FourCC -> CanDecode 1 | CanEncode 2 | CanForward 4). */
  videoFourCcInfoMap?: Readonly<Record<string, number>>;
  /** E-RTMP: `audioFourCcInfoMap`. */
  audioFourCcInfoMap?: Readonly<Record<string, number>>;
  /** More `connect` command-object properties; they override the defaults. */
  properties?: Readonly<Record<string, AmfValue>>;
  /** Values appended after the command object of `connect` (some servers read credentials there). */
  connectArgs?: readonly AmfValue[];
  /** TLS options for RTMPS (`ca`, `rejectUnauthorized`, `servername`...). */
  tls?: tls.ConnectionOptions;
  /** Default per-step timeout (ms). Default 10 000; 0 disables. */
  timeout?: number;
  /** Chunk size this client writes with (announced right after the handshake). Default 4096. */
  chunkSize?: number;
  /**
   * Close the connection when nothing arrives for this long (ms); pings keep a live server talking. Default 45 000,
   * as in every layer (`CONNECTION_DEFAULTS`); 0 disables.
   */
  idleTimeout?: number;
  /** Ping the server after this many ms of silence. Default 15 000; 0 disables. */
  pingInterval?: number;
  /** Largest message accepted from the server (bytes). Default 16 MiB - 1. */
  maxMessageSize?: number;
}

/** What {@link RtmpClient.connect} resolves with. */
export interface RtmpConnectResult {
  /** `simple` or `digest`: the handshake the server answered with. */
  handshakeKind: string;
  /** The command object of the server's `_result` (fmsVer, capabilities, E-RTMP echoes...). */
  properties: AmfValue;
  /** The info object (`NetConnection.Connect.Success`...). */
  status: RtmpServerStatus;
}

const DEFAULT_FLASH_VER = 'FMLE/3.0 (compatible; rtmp-stack)';
const DEFAULT_CHUNK_SIZE = 4096;

function checkTimeout(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new RtmpClientError(
      'ERR_RTMP_INVALID_OPTION',
      'connect',
      `option ${name} must be a non-negative number`,
    );
  }
  return value;
}

/**
 * Checks the options and works out where the client connects: the URL's parts with the explicit options applied.
 * Returns the target and the default step timeout.
 * @throws {RtmpClientError} `ERR_RTMP_INVALID_URL` / `ERR_RTMP_INVALID_OPTION`.
 */
export function resolveOptions(options: RtmpClientOptions): { target: RtmpUrl; timeout: number } {
  const timeout = checkTimeout('timeout', options.timeout, CONNECTION_DEFAULTS.handshakeTimeout);
  checkTimeout('idleTimeout', options.idleTimeout, CONNECTION_DEFAULTS.idleTimeout);
  checkTimeout('pingInterval', options.pingInterval, CONNECTION_DEFAULTS.pingInterval);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 0x7fffffff) {
    throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'connect', 'option chunkSize must be in 1..2^31-1');
  }
  let base: RtmpUrl;
  if (options.url !== undefined) base = parseRtmpUrl(options.url);
  else {
    if (!options.host || options.app === undefined) {
      throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'connect', 'give url, or host and app');
    }
    const secure = options.secure ?? false;
    const port = options.port ?? (secure ? 443 : 1935);
    const scheme = secure ? 'rtmps' : 'rtmp';
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    base = {
      protocol: scheme,
      secure,
      host: options.host,
      port,
      app: options.app,
      streamName: options.streamName ?? '',
      tcUrl: `${scheme}://${host}:${port}/${options.app}`,
    };
  }
  const secure = options.secure ?? base.secure;
  const port = options.port ?? base.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'connect', `invalid port ${port}`);
  }
  const target: RtmpUrl = {
    ...base,
    secure,
    protocol: secure ? 'rtmps' : 'rtmp',
    host: options.host ?? base.host,
    port,
    app: options.app ?? base.app,
    streamName: options.streamName ?? base.streamName,
    tcUrl: options.tcUrl ?? base.tcUrl,
  };
  return { target, timeout };
}

/** Opens the TCP or TLS socket to `target`. */
export async function openSocket(
  target: RtmpUrl,
  tlsOptions: tls.ConnectionOptions | undefined,
): Promise<net.Socket> {
  if (!target.secure) return net.connect({ host: target.host, port: target.port });
  // node:tls only for rtmps: URLs (loading it costs 1-4 MB of RSS depending on the Node version).
  return (await import('node:tls')).connect({
    host: target.host,
    port: target.port,
    ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
    ...tlsOptions,
  });
}

/** The connection core's options for a client connection. */
export function connectionOptions(options: RtmpClientOptions): RtmpConnectionOptions {
  return {
    role: 'client',
    digest: options.digest ?? true,
    // The connect step's timeout covers the handshake; the core's own timer would only duplicate it.
    handshakeTimeout: 0,
    idleTimeout: options.idleTimeout ?? CONNECTION_DEFAULTS.idleTimeout,
    pingInterval: options.pingInterval ?? CONNECTION_DEFAULTS.pingInterval,
    callTimeout: 0,
    ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
  };
}

/** The chunk size the client writes with. */
export function chunkSizeOf(options: RtmpClientOptions): number {
  return options.chunkSize ?? DEFAULT_CHUNK_SIZE;
}

/** The command object of `connect`: the defaults FFmpeg sends, the E-RTMP capabilities, then `properties`. */
export function connectObject(options: RtmpClientOptions, target: RtmpUrl): Record<string, AmfValue> {
  const props = createAmfObject() as Record<string, AmfValue>;
  props.app = target.app;
  props.type = 'nonprivate';
  props.flashVer = options.flashVer ?? DEFAULT_FLASH_VER;
  props.tcUrl = target.tcUrl;
  props.fpad = false;
  props.capabilities = 15;
  props.audioCodecs = 0x0fff;
  props.videoCodecs = 0x00ff;
  props.videoFunction = 1;
  props.objectEncoding = 0;
  if (options.fourCcList) props.fourCcList = [...options.fourCcList];
  if (options.capsEx !== undefined) props.capsEx = options.capsEx;
  if (options.videoFourCcInfoMap) props.videoFourCcInfoMap = toAmfObject(options.videoFourCcInfoMap);
  if (options.audioFourCcInfoMap) props.audioFourCcInfoMap = toAmfObject(options.audioFourCcInfoMap);
  for (const [key, value] of Object.entries(options.properties ?? {})) props[key] = value;
  return props;
}

function toAmfObject(record: Readonly<Record<string, number>>): AmfValue {
  const object = createAmfObject() as Record<string, AmfValue>;
  for (const [key, value] of Object.entries(record)) object[key] = value;
  return object;
}
