import type { RtmpMessage } from './message.js';
import type { RtmpMessagePieces } from './pieces.js';

/**
 * Every stable error code thrown by `@rtmp/chunk`. Each is documented in the package README.
 */
export const CHUNK_ERROR_CODES = [
  'ERR_CHUNK_SIZE_INVALID',
  'ERR_CHUNK_SIZE_LIMIT',
  'ERR_CHUNK_MESSAGE_TOO_LONG',
  'ERR_CHUNK_TOO_MANY_STREAMS',
  'ERR_CHUNK_BUFFER_LIMIT',
  'ERR_CHUNK_NO_PREVIOUS_HEADER',
  'ERR_CHUNK_UNEXPECTED_HEADER',
  'ERR_CHUNK_CONTROL_INVALID',
  'ERR_CHUNK_INVALID_ARGUMENT',
  'ERR_CHUNK_INTERNAL',
] as const;

/** A stable string code identifying the kind of {@link ChunkError}. */
export type ChunkErrorCode = (typeof CHUNK_ERROR_CODES)[number];

const brand = Symbol.for('@rtmp/chunk.ChunkError');

/** Options of {@link ChunkError}. */
export interface ChunkErrorOptions {
  /** The underlying error (an unexpected failure inside the decoder). */
  cause?: unknown;
}

/**
 * The only error class thrown by this package. `code` is stable and safe to switch on.
 * `messages` holds the messages a {@link ChunkDecoder.push} call had decoded before it failed.
 */
export class ChunkError extends Error {
  /** Stable machine-readable code, one of {@link CHUNK_ERROR_CODES}. */
  readonly code: ChunkErrorCode;
  /**
   * Messages completed by the failing `push` call before the error, in order (empty elsewhere); in the shape of
   * that decoder's payload mode.
   */
  messages: (RtmpMessage | RtmpMessagePieces)[] = [];

  /**
   * @param code - stable code
   * @param message - human-readable detail
   * @param options - the underlying error (`cause`)
   */
  constructor(code: ChunkErrorCode, message: string, options: ChunkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ChunkError';
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
    Object.defineProperty(ChunkError.prototype, brand, { value: true });
  }
}
