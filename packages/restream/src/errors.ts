/**
 * Every error code this package can produce. Stable strings: match on `error.code`, never on the message.
 */
export const RESTREAM_ERROR_CODES = [
  'ERR_RESTREAM_INVALID_OPTION',
  'ERR_RESTREAM_CLOSED',
  'ERR_RESTREAM_ORIGIN_FAILED',
  'ERR_RESTREAM_UPSTREAM_ENDED',
  'ERR_RESTREAM_WEBHOOK_REJECTED',
  'ERR_RESTREAM_WEBHOOK_UNREACHABLE',
] as const;

/** A stable error code of {@link RestreamError}. */
export type RestreamErrorCode = (typeof RESTREAM_ERROR_CODES)[number];

const brand = Symbol.for('@rtmp/restream.RestreamError');

/** Options of {@link RestreamError}. */
export interface RestreamErrorOptions {
  /** The underlying error (a client's `RtmpClientError`, a `fetch` failure, what an origin resolver threw). */
  cause?: unknown;
  /** The HTTP status a webhook endpoint answered, for `ERR_RESTREAM_WEBHOOK_REJECTED`. */
  status?: number | undefined;
}

/**
 * The one error class of `@rtmp/restream`. Failures of the RTMP client under a push or a pull are reported as the
 * client's own `RtmpClientError` (an `RtmpError` with `ERR_RTMP_*` codes); this class covers what this package adds.
 */
export class RestreamError extends Error {
  /** Stable machine-readable code, listed in the package README. */
  readonly code: RestreamErrorCode;
  /** The HTTP status of a rejected webhook delivery. */
  readonly status: number | undefined;

  /**
   * @param code - stable code
   * @param message - human-readable detail
   * @param options - the underlying error (`cause`) and, for webhooks, the HTTP `status`
   */
  constructor(code: RestreamErrorCode, message: string, options: RestreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RestreamError';
    this.code = code;
    this.status = options.status;
  }

  /**
   * `instanceof` that also recognises errors made by a second installed copy of the package (two versions in one
   * dependency tree, or the ESM and CommonJS builds side by side): the check is a global symbol, not the prototype.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  static {
    Object.defineProperty(RestreamError.prototype, brand, { value: true });
  }
}

/** `error`'s stable code when it has one (`ERR_RTMP_*`, `ERR_RESTREAM_*`...), else `'unknown'`. */
export function codeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return 'unknown';
}

/** `error`'s message, whatever was thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
