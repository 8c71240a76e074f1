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

const BRAND = Symbol.for('@rtmp/amf.AmfError');

/**
 * The only error this package throws. `code` is stable; `offset` is the byte offset in the input (decode) or the
 * output written so far (encode) where the problem was found.
 */
export class AmfError extends Error {
  /** Stable machine-readable code. */
  readonly code: AmfErrorCode;
  /** Byte offset of the problem. */
  readonly offset: number;

  /**
   * @param code stable code
   * @param message human-readable detail
   * @param offset byte offset of the problem
   * @param options standard error options (`cause`)
   */
  constructor(code: AmfErrorCode, message: string, offset: number, options?: ErrorOptions) {
    super(`${message} (at byte ${offset})`, options);
    this.name = 'AmfError';
    this.code = code;
    this.offset = offset;
  }

  // Two installed copies (ESM and CJS builds, or two versions) must still recognise each other's errors.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
Object.defineProperty(AmfError.prototype, BRAND, { value: true, enumerable: false });
