/** Every code an {@link AmfError} can carry. Stable: codes are never renamed, only added. */
export const AMF_ERROR_CODES = [
  'ERR_AMF_TRUNCATED',
  'ERR_AMF_UNKNOWN_MARKER',
  'ERR_AMF_UNSUPPORTED_MARKER',
  'ERR_AMF_UNEXPECTED_OBJECT_END',
  'ERR_AMF_BAD_REFERENCE',
  'ERR_AMF_DEPTH_EXCEEDED',
  'ERR_AMF_STRING_TOO_LONG',
  'ERR_AMF_ARRAY_TOO_LONG',
  'ERR_AMF_TOO_MANY_PROPERTIES',
  'ERR_AMF_INPUT_TOO_LARGE',
  'ERR_AMF_EXTERNALIZABLE_UNSUPPORTED',
  'ERR_AMF_EXTERNALIZABLE_FAILED',
  'ERR_AMF_INVALID_VALUE',
  'ERR_AMF_BAD_MESSAGE_TYPE',
  'ERR_AMF_BAD_FORMAT_BYTE',
  'ERR_AMF_INTERNAL',
] as const;

/** A stable error code of this package. */
export type AmfErrorCode = (typeof AMF_ERROR_CODES)[number];

const brand = Symbol.for('@rtmp/amf.AmfError');

/** Options of {@link AmfError}. */
export interface AmfErrorOptions {
  /** Byte offset of the problem: in the input (decode) or in the output written so far (encode). */
  offset: number;
  /** The underlying error (an externalizable handler's exception, an unexpected failure). */
  cause?: unknown;
}

/**
 * The only error this package throws. `code` is stable; `offset` is the byte offset in the input (decode) or the
 * output written so far (encode) where the problem was found.
 */
export class AmfError extends Error {
  /** Stable machine-readable code, one of {@link AMF_ERROR_CODES}. */
  readonly code: AmfErrorCode;
  /** Byte offset of the problem. */
  readonly offset: number;

  /**
   * @param code - stable code
   * @param message - human-readable detail (the offset is appended to it)
   * @param options - where the problem is (`offset`), and the underlying error (`cause`)
   */
  constructor(code: AmfErrorCode, message: string, options: AmfErrorOptions) {
    super(
      `${message} (at byte ${options.offset})`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'AmfError';
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
    Object.defineProperty(AmfError.prototype, brand, { value: true });
  }
}
