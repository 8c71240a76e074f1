import type { ChunkErrorCode } from '@rtmp/chunk';

/**
 * The codes the connection core raises (`RtmpConnection`, `BufferBudget`), in the server's sessions and in the
 * client alike. The README's table lists each one; a test checks every row.
 */
export const ConnectionErrorCodes = [
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
  'ERR_RTMP_INVALID_OPTION',
] as const;

/** The codes `@rtmp/server` adds (its server, sessions and relay); the rest of its errors come from the core. */
export const ServerErrorCodes = [
  'ERR_RTMP_CONNECT_REJECTED',
  'ERR_RTMP_PUBLISH_REJECTED',
  'ERR_RTMP_PLAY_REJECTED',
  'ERR_RTMP_STREAM_BUSY',
  'ERR_RTMP_MAX_CONNECTIONS',
  'ERR_RTMP_SLOW_CONSUMER',
  'ERR_RTMP_SERVER_STOPPED',
  'ERR_RTMP_INVALID_STATE',
] as const;

/**
 * The codes an `RtmpClientError` of `@rtmp/client` carries: a smaller vocabulary, one per thing a client user
 * handles differently (the core error that caused it stays reachable as `cause`).
 */
export const ClientErrorCodes = [
  'ERR_RTMP_INVALID_URL',
  'ERR_RTMP_INVALID_OPTION',
  'ERR_RTMP_INVALID_STATE',
  'ERR_RTMP_SOCKET',
  'ERR_RTMP_HANDSHAKE_FAILED',
  'ERR_RTMP_PROTOCOL',
  'ERR_RTMP_TIMEOUT',
  'ERR_RTMP_ABORTED',
  'ERR_RTMP_HANDLER_FAILED',
  'ERR_RTMP_CONNECT_REJECTED',
  'ERR_RTMP_CREATE_STREAM_FAILED',
  'ERR_RTMP_PUBLISH_REJECTED',
  'ERR_RTMP_PLAY_REJECTED',
  'ERR_RTMP_CLOSED',
] as const;

/** A code raised by the connection core. */
export type ConnectionErrorCode = (typeof ConnectionErrorCodes)[number];
/** A code raised by `@rtmp/server` on top of the core's. */
export type ServerErrorCode = (typeof ServerErrorCodes)[number];
/** A code carried by `@rtmp/client`'s `RtmpClientError`. */
export type ClientErrorCode = (typeof ClientErrorCodes)[number];
/** Any code of the RTMP error family (connection, server and client). */
export type RtmpErrorCode = ConnectionErrorCode | ServerErrorCode | ClientErrorCode;

/** Every code of the family, each once. */
export const RtmpErrorCodes: readonly RtmpErrorCode[] = [
  ...new Set<RtmpErrorCode>([...ConnectionErrorCodes, ...ServerErrorCodes, ...ClientErrorCodes]),
];

/**
 * What a chunk decoder failure means for the connection. Typed by `@rtmp/chunk`'s code list, so a new chunk code
 * does not compile until it is given a meaning here.
 */
export const CHUNK_ERROR_TO_RTMP = {
  ERR_CHUNK_SIZE_INVALID: 'ERR_RTMP_PROTOCOL',
  ERR_CHUNK_SIZE_LIMIT: 'ERR_RTMP_PROTOCOL',
  ERR_CHUNK_MESSAGE_TOO_LONG: 'ERR_RTMP_MESSAGE_TOO_LARGE',
  ERR_CHUNK_TOO_MANY_STREAMS: 'ERR_RTMP_PROTOCOL',
  ERR_CHUNK_BUFFER_LIMIT: 'ERR_RTMP_BUFFER_LIMIT',
  ERR_CHUNK_NO_PREVIOUS_HEADER: 'ERR_RTMP_PROTOCOL',
  ERR_CHUNK_UNEXPECTED_HEADER: 'ERR_RTMP_PROTOCOL',
  ERR_CHUNK_CONTROL_INVALID: 'ERR_RTMP_PROTOCOL',
  ERR_CHUNK_INVALID_ARGUMENT: 'ERR_RTMP_PROTOCOL',
  ERR_CHUNK_INTERNAL: 'ERR_RTMP_PROTOCOL',
} as const satisfies Record<ChunkErrorCode, ConnectionErrorCode>;

const brand = Symbol.for('@rtmp/connection.RtmpError');

/** Options of every error of the family. */
export interface RtmpErrorOptions {
  /** The underlying error: a `ChunkError`, `AmfError`, `HandshakeError`, a socket error or a listener's exception. */
  cause?: unknown;
  /** Extra structured detail (for example the `info` object of an `_error` reply). */
  detail?: unknown;
}

/**
 * The error class of the RTMP layer: the connection core, `@rtmp/server` and `@rtmp/client` (whose
 * `RtmpClientError` extends it). `code` is stable and documented; `cause` holds the underlying error.
 */
export class RtmpError extends Error {
  /** Stable machine-readable code, see {@link RtmpErrorCodes}. */
  readonly code: RtmpErrorCode;
  /** Extra structured detail (for example the `info` object of an `_error` reply). */
  readonly detail: unknown;

  constructor(code: RtmpErrorCode, message: string, options: RtmpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RtmpError';
    this.code = code;
    this.detail = options.detail;
  }

  /**
   * `instanceof` that also recognises errors made by a second installed copy of the package (two versions in one
   * dependency tree, or the ESM and CommonJS builds side by side): the check is a global symbol, not the prototype.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  static {
    Object.defineProperty(RtmpError.prototype, brand, { value: true });
  }
}

/** Wraps anything thrown into an {@link RtmpError} with the given code (an RtmpError passes through). */
export function toRtmpError(error: unknown, code: RtmpErrorCode, message?: string): RtmpError {
  if (error instanceof RtmpError) return error;
  const text = message ?? (error instanceof Error ? error.message : String(error));
  return new RtmpError(code, text, { cause: error });
}

/** The RTMP code of a chunk decoder failure (`ERR_RTMP_PROTOCOL` for anything that is not a `ChunkError`). */
export function chunkErrorCode(error: unknown): ConnectionErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(CHUNK_ERROR_TO_RTMP, code)
    ? CHUNK_ERROR_TO_RTMP[code as ChunkErrorCode]
    : 'ERR_RTMP_PROTOCOL';
}
