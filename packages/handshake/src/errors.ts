/**
 * Every stable error code thrown by `@rtmp/handshake`. Codes never change meaning between versions;
 * match on them, not on messages.
 */
export const HandshakeErrorCode = {
  /** C0/S0 carried a version other than 3 (and not an RTMPE version). */
  BAD_VERSION: 'ERR_HANDSHAKE_BAD_VERSION',
  /** C0/S0 carried 6, 8 or 9: an encrypted RTMPE handshake, which this package does not implement. */
  RTMPE_UNSUPPORTED: 'ERR_HANDSHAKE_RTMPE_UNSUPPORTED',
  /** Client in `strict` mode: S1 claimed version >= 3 but its digest or S2's signature did not verify. */
  SERVER_DIGEST_INVALID: 'ERR_HANDSHAKE_SERVER_DIGEST_INVALID',
  /** A method was called in the wrong state (for example `push` before `start`, or `start` twice). */
  INVALID_STATE: 'ERR_HANDSHAKE_INVALID_STATE',
  /** A bad argument or option (non-`Uint8Array` input, a `random` source returning the wrong length...). */
  INVALID_ARGUMENT: 'ERR_HANDSHAKE_INVALID_ARGUMENT',
} as const;

/** Union of every {@link HandshakeErrorCode} value. */
export type HandshakeErrorCode = (typeof HandshakeErrorCode)[keyof typeof HandshakeErrorCode];

const brand = Symbol.for('@rtmp/handshake.HandshakeError');

/** Options of {@link HandshakeError}. */
export interface HandshakeErrorOptions {
  /** The underlying error (what an injected callback threw). */
  cause?: unknown;
}

/**
 * The only error class thrown by this package. Once a state machine has thrown it, every later call
 * throws the same instance: a failed handshake stays failed.
 */
export class HandshakeError extends Error {
  /** Stable machine-readable code, one of {@link HandshakeErrorCode}. */
  readonly code: HandshakeErrorCode;

  /**
   * @param code - stable code
   * @param message - human-readable detail
   * @param options - the underlying error (`cause`)
   */
  constructor(code: HandshakeErrorCode, message: string, options: HandshakeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HandshakeError';
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
    Object.defineProperty(HandshakeError.prototype, brand, { value: true });
  }
}
