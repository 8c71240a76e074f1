/**
 * Every error code this package can produce. Stable strings: match on `error.code`, never on the message.
 */
export const MP4_ERROR_CODES = [
  // The CMAF writer (src/cmaf).
  'ERR_MP4_INVALID_ARGUMENT',
  'ERR_MP4_INVALID_STATE',
  'ERR_MP4_UNSUPPORTED_CODEC',
  'ERR_MP4_INVALID_CONFIG',
  'ERR_MP4_TRACK_NOT_CONFIGURED',
  'ERR_MP4_SAMPLE_TOO_LARGE',
  'ERR_MP4_NAL_LENGTH',
  'ERR_MP4_BUFFER_LIMIT',
  'ERR_MP4_TIMESTAMP_RANGE',
  // The MP4/MOV file reader (src/file).
  'ERR_MP4_READER_UNAVAILABLE',
  'ERR_MP4_UNRECOGNIZED',
  'ERR_MP4_INVALID_FILE',
  'ERR_MP4_NO_TRACKS',
  'ERR_MP4_INVALID_SAMPLE',
  'ERR_MP4_CLOSED',
] as const;

/** A stable error code of {@link Mp4Error}. */
export type Mp4ErrorCode = (typeof MP4_ERROR_CODES)[number];

const brand = Symbol.for('@rtmp/mp4.Mp4Error');

/** Options of {@link Mp4Error}. */
export interface Mp4ErrorOptions {
  /** Byte offset in the input being read where the problem was found, when known. */
  offset?: number | undefined;
  /**
   * The underlying error (an `FlvError` of a configuration record, mediabunny's, a file system error, an unexpected
   * failure).
   */
  cause?: unknown;
}

/**
 * The one error class of `@rtmp/mp4`. `code` is stable; `offset` is the byte position in the input being read
 * when it is known.
 */
export class Mp4Error extends Error {
  /** Stable machine-readable code, listed in the package README. */
  readonly code: Mp4ErrorCode;
  /** Byte offset in the input being read where the problem was found, when known. */
  readonly offset: number | undefined;

  /**
   * @param code - stable code
   * @param message - human-readable detail
   * @param options - where the problem is (`offset`, when known), and the underlying error (`cause`)
   */
  constructor(code: Mp4ErrorCode, message: string, options: Mp4ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Mp4Error';
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
    Object.defineProperty(Mp4Error.prototype, brand, { value: true });
  }
}
