/**
 * Every error code this package can produce. Stable strings: match on `error.code`, never on the message.
 */
export const FLV_ERROR_CODES = [
  'ERR_FLV_TRUNCATED',
  'ERR_FLV_UNKNOWN_PACKET_TYPE',
  'ERR_FLV_UNKNOWN_MULTITRACK_TYPE',
  'ERR_FLV_NESTED_MULTITRACK',
  'ERR_FLV_UNKNOWN_CODEC',
  'ERR_FLV_INVALID_CONFIG',
  'ERR_FLV_NAL_LENGTH',
  'ERR_FLV_SCRIPT_DATA',
  'ERR_FLV_BAD_SIGNATURE',
  'ERR_FLV_BAD_HEADER',
  'ERR_FLV_PREVIOUS_TAG_SIZE',
  'ERR_FLV_TAG_TOO_LARGE',
  'ERR_FLV_PARSER_FAILED',
  'ERR_FLV_INVALID_ARGUMENT',
  'ERR_FLV_UNKNOWN_TAG_TYPE',
] as const;

/** A stable error code of {@link FlvError}. */
export type FlvErrorCode = (typeof FLV_ERROR_CODES)[number];

const brand = Symbol.for('@rtmp/flv-demux.FlvError');

/** Options of {@link FlvError}. */
export interface FlvErrorOptions {
  /** Byte offset in the parsed input where the problem was found, when known. */
  offset?: number | undefined;
  /** The underlying error (an `AmfError` of malformed script data, an unexpected failure). */
  cause?: unknown;
}

/**
 * The one error class of `@rtmp/flv-demux`. `code` is stable; `offset` is the byte position in the input being
 * parsed when it is known.
 */
export class FlvError extends Error {
  /** Stable machine-readable code, listed in the package README. */
  readonly code: FlvErrorCode;
  /** Byte offset in the parsed input where the problem was found, when known. */
  readonly offset: number | undefined;

  /**
   * @param code - stable code
   * @param message - human-readable detail
   * @param options - where the problem is (`offset`, when known), and the underlying error (`cause`)
   */
  constructor(code: FlvErrorCode, message: string, options: FlvErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlvError';
    this.code = code;
    this.offset = options.offset;
  }

  /**
   * `instanceof` that also recognises errors made by a second installed copy of the package (two versions in one
   * dependency tree, or the ESM and CommonJS builds side by side): the check is a global symbol, not the prototype.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  static {
    Object.defineProperty(FlvError.prototype, brand, { value: true });
  }
}
