/**
 * Every error code this package can produce. Stable strings: match on `error.code`, never on the message.
 */
export const CLUSTER_ERROR_CODES = [
  'ERR_CLUSTER_INVALID_OPTION',
  'ERR_CLUSTER_REGISTRY_UNAVAILABLE',
  'ERR_CLUSTER_BAD_RECORD',
  'ERR_CLUSTER_CLOSED',
] as const;

/** A stable error code of {@link ClusterError}. */
export type ClusterErrorCode = (typeof CLUSTER_ERROR_CODES)[number];

const brand = Symbol.for('@rtmp/cluster.ClusterError');

/** Options of {@link ClusterError}. */
export interface ClusterErrorOptions {
  /** The underlying error (an `ioredis` error, a JSON parse failure). */
  cause?: unknown;
}

/** The one error class of `@rtmp/cluster`, with a stable {@link ClusterError.code}. */
export class ClusterError extends Error {
  /** Stable machine-readable code, listed in the package README. */
  readonly code: ClusterErrorCode;

  /**
   * @param code - stable code
   * @param message - human-readable detail
   * @param options - the underlying error (`cause`)
   */
  constructor(code: ClusterErrorCode, message: string, options: ClusterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClusterError';
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
    Object.defineProperty(ClusterError.prototype, brand, { value: true });
  }
}

/** `error`'s message, whatever was thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `error` as a {@link ClusterError}: itself when it is one, else `ERR_CLUSTER_REGISTRY_UNAVAILABLE` around it. */
export function registryError(error: unknown, doing: string): ClusterError {
  if (error instanceof ClusterError) return error;
  return new ClusterError('ERR_CLUSTER_REGISTRY_UNAVAILABLE', `${doing}: ${messageOf(error)}`, {
    cause: error,
  });
}
