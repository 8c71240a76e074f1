import * as net from 'node:net';
import type * as tls from 'node:tls';
import { type AmfValue, createAmfObject } from '@rtmp/amf';
import {
  CapsEx,
  CONNECTION_DEFAULTS,
  type EnhancedRtmpCapabilities,
  FourCcInfo,
  type NegotiatedEnhancedRtmp,
  type RtmpConnectionOptions,
  writeCapabilities,
} from '@rtmp/connection';
import { AUDIO_FOURCCS, VIDEO_FOURCCS } from '@rtmp/flv-demux';
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
  /**
   * Announce Enhanced RTMP capabilities in `connect` (default true): the four options below, each defaulting to
   * {@link CLIENT_CAPABILITIES}. `false` sends a legacy `connect` with none of them (what FFmpeg 5.1 sends); giving
   * one of them then is `ERR_RTMP_INVALID_OPTION`.
   */
  enhancedRtmp?: boolean;
  /** E-RTMP: the FourCCs this client can handle, sent as `fourCcList`. Default: every FourCC of `@rtmp/flv-demux`. */
  fourCcList?: readonly string[];
  /**
   * E-RTMP: `capsEx` bits (`CapsEx`: Reconnect 1, Multitrack 2, ModEx 4, TimestampNanoOffset 8), the whole value
   * sent. Default Multitrack | ModEx | TimestampNanoOffset (14); add Reconnect (15) when you follow reconnect
   * requests ({@link RtmpClient.followReconnect}).
   */
  capsEx?: number;
  /**
   * E-RTMP: `videoFourCcInfoMap` (FourCC or `"*"` -> `FourCcInfo` CanDecode 1 | CanEncode 2 | CanForward 4).
   * Default `{ "*": CanForward }`: the client carries every codec's tags between the server and the application.
   */
  videoFourCcInfoMap?: Readonly<Record<string, number>>;
  /** E-RTMP: `audioFourCcInfoMap`. Default `{ "*": CanForward }`. */
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
  /** The command object of the server's `_result` (fmsVer, capabilities, E-RTMP capabilities...). */
  properties: AmfValue;
  /** The info object (`NetConnection.Connect.Success`...). */
  status: RtmpServerStatus;
  /**
   * Enhanced RTMP as settled by `connect`: what this client announced (`client`), what the server stated in its
   * `_result` (`server`: undefined for a server that states nothing of E-RTMP, such as nginx-rtmp) and the `capsEx`
   * bits both stated.
   */
  enhancedRtmp: NegotiatedEnhancedRtmp;
}

/**
 * What the client announces in `connect` by default: it carries every codec's tags (`"*": CanForward` in both maps,
 * every FourCC `@rtmp/flv-demux` knows in `fourCcList`), and its player and publisher handle multitrack, ModEx and
 * nanosecond timestamp offsets (`capsEx` 14). Reconnect is not announced by default: following a request takes
 * {@link RtmpClient.followReconnect}.
 */
export const CLIENT_CAPABILITIES: Required<EnhancedRtmpCapabilities> = Object.freeze({
  fourCcList: Object.freeze([...Object.keys(VIDEO_FOURCCS), ...Object.keys(AUDIO_FOURCCS)]),
  videoFourCcInfoMap: Object.freeze({ '*': FourCcInfo.CanForward }),
  audioFourCcInfoMap: Object.freeze({ '*': FourCcInfo.CanForward }),
  capsEx: CapsEx.Multitrack | CapsEx.ModEx | CapsEx.TimestampNanoOffset,
});

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
  if (
    options.enhancedRtmp === false &&
    (options.fourCcList !== undefined ||
      options.capsEx !== undefined ||
      options.videoFourCcInfoMap !== undefined ||
      options.audioFourCcInfoMap !== undefined)
  ) {
    throw new RtmpClientError(
      'ERR_RTMP_INVALID_OPTION',
      'connect',
      'enhancedRtmp: false announces nothing of E-RTMP: drop fourCcList, capsEx and the FourCC info maps',
    );
  }
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
  if (options.enhancedRtmp !== false) {
    const defaults = CLIENT_CAPABILITIES;
    writeCapabilities(props, {
      fourCcList: options.fourCcList ?? defaults.fourCcList,
      videoFourCcInfoMap: options.videoFourCcInfoMap ?? defaults.videoFourCcInfoMap,
      audioFourCcInfoMap: options.audioFourCcInfoMap ?? defaults.audioFourCcInfoMap,
      capsEx: options.capsEx ?? defaults.capsEx,
    });
  }
  for (const [key, value] of Object.entries(options.properties ?? {})) props[key] = value;
  return props;
}
