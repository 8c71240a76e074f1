/**
 * Every stable error code raised by `@rtmp/client`. The README lists each one; a test keeps the two in sync.
 */
export const RTMP_CLIENT_ERROR_CODES = [
  'ERR_RTMP_INVALID_URL',
  'ERR_RTMP_INVALID_OPTION',
  'ERR_RTMP_INVALID_STATE',
  'ERR_RTMP_SOCKET',
  'ERR_RTMP_HANDSHAKE_FAILED',
  'ERR_RTMP_PROTOCOL',
  'ERR_RTMP_TIMEOUT',
  'ERR_RTMP_ABORTED',
  'ERR_RTMP_CONNECT_REJECTED',
  'ERR_RTMP_CREATE_STREAM_FAILED',
  'ERR_RTMP_PUBLISH_REJECTED',
  'ERR_RTMP_PLAY_REJECTED',
  'ERR_RTMP_CLOSED',
] as const;

/** A stable string code carried by every {@link RtmpClientError}. */
export type RtmpClientErrorCode = (typeof RTMP_CLIENT_ERROR_CODES)[number];

/** The step of the client's life an error happened in. */
export type RtmpClientStep =
  | 'connect'
  | 'createStream'
  | 'publish'
  | 'play'
  | 'send'
  | 'close'
  | 'connection';

/** The server's `onStatus` (or `_error` info) that caused a rejection. */
export interface RtmpServerStatus {
  /** `error`, `warning` or `status`. */
  level: string;
  /** e.g. `NetStream.Publish.BadName`. */
  code: string;
  /** The server's human-readable reason ('' when it sent none). */
  description: string;
}

const brand = Symbol.for('@rtmp/client.RtmpClientError');

/**
 * The one error class of `@rtmp/client`. `code` is stable and documented; `status` carries the server's
 * `onStatus` code and description when the server refused something; `cause` holds the underlying error
 * (often an `RtmpError` of the connection core, with its own code).
 */
export class RtmpClientError extends Error {
  /** Stable machine-readable code, see {@link RTMP_CLIENT_ERROR_CODES}. */
  readonly code: RtmpClientErrorCode;
  /** Which step failed. */
  readonly step: RtmpClientStep;
  /** The server's status when it refused (connect `_error`, publish/play `onStatus` level `error`). */
  readonly status: RtmpServerStatus | undefined;

  constructor(
    code: RtmpClientErrorCode,
    step: RtmpClientStep,
    message: string,
    options?: { cause?: unknown; status?: RtmpServerStatus | undefined },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RtmpClientError';
    this.code = code;
    this.step = step;
    this.status = options?.status;
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

// Core codes mapped onto the client's smaller vocabulary; the core error stays reachable as `cause`.
const FROM_CORE: Record<string, RtmpClientErrorCode> = {
  ERR_RTMP_HANDSHAKE_FAILED: 'ERR_RTMP_HANDSHAKE_FAILED',
  ERR_RTMP_HANDSHAKE_TIMEOUT: 'ERR_RTMP_TIMEOUT',
  ERR_RTMP_PROTOCOL: 'ERR_RTMP_PROTOCOL',
  ERR_RTMP_MALFORMED_COMMAND: 'ERR_RTMP_PROTOCOL',
  ERR_RTMP_MESSAGE_TOO_LARGE: 'ERR_RTMP_PROTOCOL',
  ERR_RTMP_IDLE_TIMEOUT: 'ERR_RTMP_TIMEOUT',
  ERR_RTMP_PING_TIMEOUT: 'ERR_RTMP_TIMEOUT',
  ERR_RTMP_CALL_TIMEOUT: 'ERR_RTMP_TIMEOUT',
  ERR_RTMP_ABORTED: 'ERR_RTMP_ABORTED',
  ERR_RTMP_BUFFER_LIMIT: 'ERR_RTMP_PROTOCOL',
  ERR_RTMP_MEMORY_BUDGET: 'ERR_RTMP_PROTOCOL',
  ERR_RTMP_SOCKET: 'ERR_RTMP_SOCKET',
  ERR_RTMP_INVALID_OPTION: 'ERR_RTMP_INVALID_OPTION',
};

/** Turns whatever ended a step into an {@link RtmpClientError} (one passes through unchanged). */
export function toClientError(
  error: unknown,
  step: RtmpClientStep,
  fallback: RtmpClientErrorCode,
): RtmpClientError {
  if (error instanceof RtmpClientError) return error;
  const coreCode =
    typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  // A closed connection whose cause is known reports the cause (e.g. the socket error that closed it).
  const cause = (error as { cause?: unknown })?.cause;
  if (coreCode === 'ERR_RTMP_CLOSED' && cause !== undefined) {
    const inner = toClientError(cause, step, 'ERR_RTMP_CLOSED');
    return new RtmpClientError(inner.code, step, inner.message, { cause: error, status: inner.status });
  }
  const code = FROM_CORE[coreCode] ?? (coreCode === 'ERR_RTMP_CLOSED' ? 'ERR_RTMP_CLOSED' : fallback);
  const text = error instanceof Error ? error.message : String(error);
  return new RtmpClientError(code, step, `${step}: ${text}`, { cause: error });
}
