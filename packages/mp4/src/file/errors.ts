/**
 * Every error code of the MP4/MOV file reader. Stable strings: match on `error.code`, never on the message.
 */
export const MP4_FILE_ERROR_CODES = [
  'ERR_MP4_READER_UNAVAILABLE',
  'ERR_MP4_UNRECOGNIZED',
  'ERR_MP4_INVALID_FILE',
  'ERR_MP4_NO_TRACKS',
  'ERR_MP4_INVALID_CONFIG',
  'ERR_MP4_INVALID_SAMPLE',
  'ERR_MP4_SAMPLE_TOO_LARGE',
  'ERR_MP4_INVALID_ARGUMENT',
  'ERR_MP4_CLOSED',
] as const;

/** A stable error code of {@link Mp4Error}. */
export type Mp4ErrorCode = (typeof MP4_FILE_ERROR_CODES)[number];

const brand = Symbol.for('@rtmp/mp4.Mp4Error');

/** Options of {@link Mp4Error}. */
export interface Mp4ErrorOptions {
  /** The underlying error (mediabunny's, an `FlvError` of a sample that does not parse, a file system error). */
  cause?: unknown;
}

/**
 * The error class of `@rtmp/mp4`. `code` is stable; `cause` carries the underlying error when there is one.
 * `instanceof` recognises an error made by another installed copy of the package (a global symbol brand).
 */
export class Mp4Error extends Error {
  /** Stable machine-readable code, listed in the package README. */
  readonly code: Mp4ErrorCode;

  /**
   * @param code - stable code
   * @param message - human-readable detail
   * @param options - the underlying error (`cause`)
   */
  constructor(code: Mp4ErrorCode, message: string, options: Mp4ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Mp4Error';
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
    Object.defineProperty(Mp4Error.prototype, brand, { value: true });
  }
}
