import {
  type ClientErrorCode,
  ClientErrorCodes,
  type ConnectionErrorCode,
  RtmpError,
  type RtmpErrorOptions,
} from '@rtmp/connection';

/**
 * Every stable error code raised by `@rtmp/client` (the client's part of the RTMP error family of
 * `@rtmp/connection`). The README lists each one; a test checks every row.
 */
export const RTMP_CLIENT_ERROR_CODES: typeof ClientErrorCodes = ClientErrorCodes;

/** A stable string code carried by every {@link RtmpClientError}. */
export type RtmpClientErrorCode = ClientErrorCode;

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
 * The error class of `@rtmp/client`: an {@link RtmpError} (so `instanceof RtmpError` catches it too) whose code is
 * one of the client's smaller vocabulary, with the step that failed. `status` carries the server's `onStatus` code
 * and description when the server refused something; `cause` holds the underlying error (often an `RtmpError` of
 * the connection core, with its own code).
 */
export class RtmpClientError extends RtmpError {
  /** Stable machine-readable code, see {@link RTMP_CLIENT_ERROR_CODES}. */
  declare readonly code: RtmpClientErrorCode;
  /** Which step failed. */
  readonly step: RtmpClientStep;
  /** The server's status when it refused (connect `_error`, publish/play `onStatus` level `error`). */
  readonly status: RtmpServerStatus | undefined;

  constructor(
    code: RtmpClientErrorCode,
    step: RtmpClientStep,
    message: string,
    options: RtmpErrorOptions & { status?: RtmpServerStatus | undefined } = {},
  ) {
    super(code, message, options);
    this.name = 'RtmpClientError';
    this.step = step;
    this.status = options.status;
  }

  /** `instanceof` that also recognises errors from a second installed copy of the package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  static {
    Object.defineProperty(RtmpClientError.prototype, brand, { value: true });
  }
}

/**
 * What each code of the connection core becomes for a client user; `null` keeps the code of the step that failed
 * (a refused call is the step's own failure: `ERR_RTMP_CONNECT_REJECTED` for connect, and so on). Keyed by the
 * core's code list, so a new core code does not compile until it is given a meaning here.
 */
const FROM_CORE: Record<ConnectionErrorCode, RtmpClientErrorCode | null> = {
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
  ERR_RTMP_HANDLER_FAILED: 'ERR_RTMP_HANDLER_FAILED',
  ERR_RTMP_CLOSED: 'ERR_RTMP_CLOSED',
  ERR_RTMP_CALL_FAILED: null,
};

/** Turns whatever ended a step into an {@link RtmpClientError} (one passes through unchanged). */
export function toClientError(
  error: unknown,
  step: RtmpClientStep,
  fallback: RtmpClientErrorCode,
): RtmpClientError {
  if (error instanceof RtmpClientError) return error;
  const core = error instanceof RtmpError ? error : undefined;
  const coreCode = core?.code;
  // A closed connection whose cause is known reports the cause (e.g. the socket error that closed it).
  if (core !== undefined && coreCode === 'ERR_RTMP_CLOSED' && core.cause !== undefined) {
    const inner = toClientError(core.cause, step, 'ERR_RTMP_CLOSED');
    return new RtmpClientError(inner.code, step, inner.message, { cause: error, status: inner.status });
  }
  const mapped =
    coreCode !== undefined && Object.hasOwn(FROM_CORE, coreCode)
      ? FROM_CORE[coreCode as ConnectionErrorCode]
      : null;
  const text = error instanceof Error ? error.message : String(error);
  return new RtmpClientError(mapped ?? fallback, step, `${step}: ${text}`, { cause: error });
}
