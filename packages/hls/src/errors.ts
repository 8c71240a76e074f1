/**
 * Every error code this package can produce. Stable strings: match on `error.code`, never on the message.
 */
export const HLS_ERROR_CODES = [
  'ERR_HLS_INVALID_OPTION',
  'ERR_HLS_UNSUPPORTED_CODEC',
  'ERR_HLS_MUX_FAILED',
  'ERR_HLS_STORE_FAILED',
] as const;

/** A stable error code of {@link HlsError}. */
export type HlsErrorCode = (typeof HLS_ERROR_CODES)[number];

const brand = Symbol.for('@rtmp/hls.HlsError');

/** Options of {@link HlsError}. */
export interface HlsErrorOptions {
  /** The underlying error (an `Mp4Error` of the CMAF writer, a file system error). */
  cause?: unknown;
}

/** The one error class of `@rtmp/hls`, with a stable {@link HlsError.code}. */
export class HlsError extends Error {
  /** Stable machine-readable code, listed in the package README. */
  readonly code: HlsErrorCode;

  /**
   * @param code - stable code
   * @param message - human-readable detail
   * @param options - the underlying error (`cause`)
   */
  constructor(code: HlsErrorCode, message: string, options: HlsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HlsError';
    this.code = code;
  }

  /**
   * `instanceof` that also recognises errors made by a second installed copy of the package (two versions in one
   * dependency tree, or the ESM and CommonJS builds side by side): the check is a global symbol, not the prototype.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  static {
    Object.defineProperty(HlsError.prototype, brand, { value: true });
  }
}
