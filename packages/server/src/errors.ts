/**
 * Every stable error code raised by `@rtmp/server` (connection core, server, sessions, relay).
 * The README lists each one; a test keeps the two in sync.
 */
export const RtmpErrorCodes = [
  'ERR_RTMP_HANDSHAKE_FAILED',
  'ERR_RTMP_HANDSHAKE_TIMEOUT',
  'ERR_RTMP_PROTOCOL',
  'ERR_RTMP_MALFORMED_COMMAND',
  'ERR_RTMP_MESSAGE_TOO_LARGE',
  'ERR_RTMP_BUFFER_LIMIT',
  'ERR_RTMP_MEMORY_BUDGET',
  'ERR_RTMP_IDLE_TIMEOUT',
  'ERR_RTMP_PING_TIMEOUT',
  'ERR_RTMP_SOCKET',
  'ERR_RTMP_CLOSED',
  'ERR_RTMP_CALL_FAILED',
  'ERR_RTMP_CALL_TIMEOUT',
  'ERR_RTMP_ABORTED',
  'ERR_RTMP_HANDLER_FAILED',
  'ERR_RTMP_CONNECT_REJECTED',
  'ERR_RTMP_PUBLISH_REJECTED',
  'ERR_RTMP_PLAY_REJECTED',
  'ERR_RTMP_STREAM_BUSY',
  'ERR_RTMP_MAX_CONNECTIONS',
  'ERR_RTMP_SLOW_CONSUMER',
  'ERR_RTMP_SERVER_STOPPED',
  'ERR_RTMP_INVALID_OPTION',
  'ERR_RTMP_INVALID_STATE',
] as const;

/** A stable string code carried by every {@link RtmpError}. */
export type RtmpErrorCode = (typeof RtmpErrorCodes)[number];

const brand = Symbol.for('@rtmp/server.RtmpError');

/**
 * The one error class of `@rtmp/server`. `code` is stable and documented; `cause` holds the
 * underlying error (a `ChunkError`, `AmfError`, `HandshakeError`, a socket error or a handler exception).
 */
export class RtmpError extends Error {
  /** Stable machine-readable code, see {@link RtmpErrorCodes}. */
  readonly code: RtmpErrorCode;
  /** Extra structured detail (for example the `info` object of an `_error` reply). */
  readonly detail: unknown;

  constructor(code: RtmpErrorCode, message: string, options?: { cause?: unknown; detail?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RtmpError';
    this.code = code;
    this.detail = options?.detail;
  }

  /** `instanceof` that also recognises errors from a second installed copy of the package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  /** @internal */
  get [brand](): boolean {
    return true;
  }
}

/** Wraps anything thrown into an {@link RtmpError} with the given code (an RtmpError passes through). */
export function toRtmpError(error: unknown, code: RtmpErrorCode, message?: string): RtmpError {
  if (error instanceof RtmpError) return error;
  const text = message ?? (error instanceof Error ? error.message : String(error));
  return new RtmpError(code, text, { cause: error });
}
