/// <reference types="node" />
// A visible choice of a Node API in a pure package: node:crypto's randomBytes for the handshake's random data.
import { randomBytes } from 'node:crypto';
import { HandshakeError, HandshakeErrorCode } from './errors.js';

/** What every `push` returns. */
export interface HandshakeResult {
  /** Bytes to send to the peer, in order. Empty when there is nothing to send yet. */
  readonly output: Uint8Array[];
  /** True once the handshake is complete; every later byte belongs to the chunk stream. */
  readonly done: boolean;
  /**
   * Bytes of this push that follow the handshake (they belong to the chunk stream): a zero-copy view of the
   * input. Empty until `done`; after `done`, each push returns its whole input here.
   */
  readonly rest: Uint8Array;
}

/** Which handshake was negotiated: plain echo (`simple`) or HMAC-SHA256 signed ("FP9", `digest`). */
export type HandshakeKind = 'simple' | 'digest';

/** Options shared by both roles; inject them for deterministic tests. */
export interface HandshakeCommonOptions {
  /** Source of random bytes; must return exactly `size` bytes. Default: `node:crypto` `randomBytes`. */
  readonly random?: (size: number) => Uint8Array;
  /** Value of the 4-byte time field of C1/S1 (taken modulo 2^32). Default: `Date.now()`. */
  readonly now?: () => number;
}

// Helpers shared by the two roles; the package index exports none of them.

/** An empty view, returned where there are no bytes (never written to). */
export const EMPTY: Uint8Array = new Uint8Array(0);

/** The default `random` option: `node:crypto`'s `randomBytes`, as a plain `Uint8Array` view. */
export function defaultRandom(size: number): Uint8Array {
  const b = randomBytes(size);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The default `now` option. */
export function defaultNow(): number {
  return Date.now();
}

/** Calls the injected random source and checks what it returned. */
export function randomChecked(random: (size: number) => Uint8Array, size: number): Uint8Array {
  const bytes = random(size);
  if (!(bytes instanceof Uint8Array) || bytes.length !== size) {
    throw new HandshakeError(
      HandshakeErrorCode.INVALID_ARGUMENT,
      `random(${size}) must return a Uint8Array of exactly ${size} bytes`,
    );
  }
  return bytes;
}

/** Writes the u32 BE time field, accepting any finite number. */
export function writeTime(target: Uint8Array, offset: number, now: () => number): void {
  const t = now();
  const v = Number.isFinite(t) ? Math.trunc(t) % 0x100000000 : 0;
  new DataView(target.buffer, target.byteOffset, target.byteLength).setUint32(offset, v >>> 0);
}

/** Reads a u32 BE. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  );
}

/** Checks a C0/S0 byte; the error names RTMPE explicitly because that is the usual cause. */
export function checkVersion(version: number, who: 'C0' | 'S0'): HandshakeError | null {
  if (version === 3) return null;
  if (version === 6 || version === 8 || version === 9) {
    return new HandshakeError(
      HandshakeErrorCode.RTMPE_UNSUPPORTED,
      `${who} version ${version} requests encrypted RTMPE, which is not supported`,
    );
  }
  return new HandshakeError(
    HandshakeErrorCode.BAD_VERSION,
    `${who} version ${version} is not RTMP version 3`,
  );
}

/** Checks that `push` was given a `Uint8Array`. */
export function checkInput(bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new HandshakeError(HandshakeErrorCode.INVALID_ARGUMENT, 'push() expects a Uint8Array');
  }
}

/** Checks four version bytes (each 0..255) against the role's own rule; returns a private copy. */
export function checkVersionBytes(
  bytes: readonly number[],
  valid: (bytes: readonly number[]) => boolean,
  message: string,
): number[] {
  if (bytes.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255) || !valid(bytes)) {
    throw new HandshakeError(HandshakeErrorCode.INVALID_ARGUMENT, message);
  }
  return [...bytes];
}
