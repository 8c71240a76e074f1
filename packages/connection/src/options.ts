import type { BufferBudget } from './budget.js';
import { RtmpError } from './errors.js';
import type { RtmpRole } from './types.js';

/**
 * The defaults of the timing knobs, the same in every layer that exposes them (`RtmpConnection`, `RtmpServer`,
 * `RtmpClient`), so a knob means the same thing wherever it is set.
 */
export const CONNECTION_DEFAULTS = {
  /** Milliseconds allowed for the handshake. */
  handshakeTimeout: 10_000,
  /** Nothing received for this long closes the connection (pings keep a live but quiet peer talking). */
  idleTimeout: 45_000,
  /** A ping request is sent after this long without receiving anything, to detect dead peers. */
  pingInterval: 15_000,
  /** Milliseconds before a call without a reply fails. */
  callTimeout: 30_000,
  /** Grace period after a graceful close before the socket is destroyed. */
  closeTimeout: 2_000,
  /** The largest message accepted (the chunk format's own limit, 16 MiB - 1). */
  maxMessageSize: 0xffffff,
  /** Most distinct chunk stream ids a peer may use. */
  maxChunkStreams: 64,
} as const;

/** Options of `RtmpConnection`. Every limit has a safe default ({@link CONNECTION_DEFAULTS}). */
export interface RtmpConnectionOptions {
  /** `'server'` answers C0/C1, `'client'` sends C0/C1 at once. */
  role: RtmpRole;
  /** Client role: use the digest (FP9) handshake. Default `true`. */
  digest?: boolean;
  /** Milliseconds allowed for the handshake to complete. Default 10 000; 0 disables. */
  handshakeTimeout?: number;
  /** Close the connection when nothing has been received for this long (ms). Default 45 000; 0 disables. */
  idleTimeout?: number;
  /** Send a ping request when nothing has been received for this long (ms), to detect dead peers. Default 15 000; 0 disables. */
  pingInterval?: number;
  /** Reject a message whose declared length exceeds this many bytes. Default (and maximum) 16 MiB - 1. */
  maxMessageSize?: number;
  /** Maximum number of distinct chunk stream ids the peer may use. Default 64. */
  maxChunkStreams?: number;
  /**
   * Most bytes the chunk decoder may hold for incomplete messages (whole socket reads pinned by partial
   * payloads are counted); above it the connection closes with `ERR_RTMP_BUFFER_LIMIT`. Default
   * `maxMessageSize` + 1 MiB: one message of the largest allowed size can always arrive (a 4K keyframe of
   * several MB included), with room for interleaved audio and partly used reads.
   */
  maxBufferedBytes?: number;
  /**
   * A budget shared with other connections (see {@link BufferBudget}): when all members together hold more
   * than its limit, the one holding the most is closed with `ERR_RTMP_MEMORY_BUDGET`. Default: none.
   */
  bufferBudget?: BufferBudget;
  /** Milliseconds before a `call` without a reply fails. Default 30 000; 0 disables. */
  callTimeout?: number;
  /** Grace period (ms) after a graceful close before the socket is destroyed. Default 2 000. */
  closeTimeout?: number;
  /**
   * Read into one buffer shared by every connection of the process (Node's `onread` mode) instead of a new buffer
   * per socket read: no allocation per read, and no socket read kept alive by a payload (the chunk decoder copies
   * each payload once). Applies to a plain TCP socket that has not delivered data yet; otherwise, and for TLS,
   * the connection listens to `data` as usual. Default false; `RtmpServer` turns it on for the sockets it accepts.
   */
  sharedReadBuffer?: boolean;
}

/** {@link RtmpConnectionOptions} with every default applied and checked. */
export type ResolvedConnectionOptions = Required<
  Omit<RtmpConnectionOptions, 'role' | 'bufferBudget' | 'sharedReadBuffer'>
>;

/** Applies the defaults; throws `ERR_RTMP_INVALID_OPTION` for a limit that is not a positive integer. */
export function resolveConnectionOptions(options: RtmpConnectionOptions): ResolvedConnectionOptions {
  const maxMessageSize = Math.min(
    options.maxMessageSize ?? CONNECTION_DEFAULTS.maxMessageSize,
    CONNECTION_DEFAULTS.maxMessageSize,
  );
  const maxBufferedBytes = options.maxBufferedBytes ?? maxMessageSize + 1024 * 1024;
  if (!Number.isSafeInteger(maxBufferedBytes) || maxBufferedBytes < 1) {
    throw new RtmpError(
      'ERR_RTMP_INVALID_OPTION',
      `maxBufferedBytes must be a positive integer, got ${maxBufferedBytes}`,
    );
  }
  return {
    digest: options.digest ?? true,
    handshakeTimeout: options.handshakeTimeout ?? CONNECTION_DEFAULTS.handshakeTimeout,
    idleTimeout: options.idleTimeout ?? CONNECTION_DEFAULTS.idleTimeout,
    pingInterval: options.pingInterval ?? CONNECTION_DEFAULTS.pingInterval,
    maxMessageSize,
    maxChunkStreams: options.maxChunkStreams ?? CONNECTION_DEFAULTS.maxChunkStreams,
    maxBufferedBytes,
    callTimeout: options.callTimeout ?? CONNECTION_DEFAULTS.callTimeout,
    closeTimeout: options.closeTimeout ?? CONNECTION_DEFAULTS.closeTimeout,
  };
}
