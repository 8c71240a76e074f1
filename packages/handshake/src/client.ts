import {
  checkVersionBytes,
  defaultNow,
  defaultRandom,
  type HandshakeCommonOptions,
  type HandshakeKind,
  type HandshakeResult,
  randomChecked,
  readU32,
  writeTime,
} from './common.js';
import {
  CLIENT_C1_KEY,
  DIGEST_LENGTH,
  type DigestScheme,
  FLASH_MEDIA_SERVER_KEY,
  FLASH_PLAYER_KEY,
  type FoundDigest,
  findDigest,
  HANDSHAKE_SIZE,
  SERVER_S1_KEY,
  signResponse,
  verifyResponse,
  writeDigest,
} from './digest.js';
import { HandshakeError, HandshakeErrorCode } from './errors.js';
import { PeerReader } from './gather.js';

/** Options of {@link HandshakeClient}. */
export interface HandshakeClientOptions extends HandshakeCommonOptions {
  /** Send a digest ("FP9") C1, as FFmpeg and Flash Player do (default `true`); `false` sends a simple C1. */
  readonly digest?: boolean;
  /** Where to put the C1 digest (default `8`, FFmpeg's choice). */
  readonly scheme?: DigestScheme;
  /** The four version bytes of a digest C1 (default `9.0.124.2`, FFmpeg's Flash Player version). */
  readonly flashVersion?: readonly [number, number, number, number];
  /**
   * Fail with `ERR_HANDSHAKE_SERVER_DIGEST_INVALID` when S1 claims version >= 3 (its byte 4) but its digest or
   * S2's signature does not verify, as FFmpeg does when playing. Default `false`: the handshake completes and
   * {@link HandshakeClient.serverDigestValid} reports `false`, because servers such as librtmp-based ones put
   * junk there and still speak RTMP perfectly well.
   */
  readonly strict?: boolean;
}

const DEFAULT_FLASH_VERSION = [9, 0, 124, 2] as const;

/**
 * The client role of the RTMP handshake as a push state machine.
 *
 * Call {@link HandshakeClient.start} and send C0+C1, then feed every byte read from the socket to
 * {@link HandshakeClient.push}. C2 is emitted as soon as S1 has arrived (the spec allows it; librtmp does the
 * same); `done` becomes true once S2 has been read, and `rest` holds the first chunk-stream bytes.
 *
 * With `digest` (the default) the client verifies S1's digest and S2's signature, reports the outcome in
 * {@link HandshakeClient.serverDigestValid} and answers a valid digest S1 with a signed C2; otherwise C2 echoes S1.
 *
 * @example
 * ```ts
 * const hs = new HandshakeClient();
 * socket.write(hs.start());
 * socket.on('data', (bytes) => {
 *   const { output, done, rest } = hs.push(bytes);
 *   for (const b of output) socket.write(b);
 *   if (done) startChunkStream(rest);
 * });
 * ```
 */
export class HandshakeClient {
  /** `digest` when both sides completed the digest handshake, `simple` otherwise; `null` until S1 arrived. */
  kind: HandshakeKind | null = null;
  /**
   * Outcome of verifying the server when a digest C1 was sent: `true` when S1's digest and S2's signature are
   * valid, `false` when S1 claims a version (non-zero bytes 4..7) but either check fails. `null` when not
   * applicable (simple C1 sent, or the server answered simple with a zero version) or not known yet.
   */
  serverDigestValid: boolean | null = null;
  /** The S1 time field, once read. */
  serverTime: number | null = null;
  /** The S1 version field (bytes 4..7 as u32 BE), once read. */
  serverVersion: number | null = null;
  /** True once S2 has been consumed. */
  get done(): boolean {
    return this.reader.done;
  }

  private started = false;
  private readonly reader = new PeerReader({
    version: 'S0',
    first: (s1) => this.onS1(s1),
    second: (s2) => this.onS2(s2),
  });
  private readonly random: (size: number) => Uint8Array;
  private readonly now: () => number;
  private readonly digest: boolean;
  private readonly scheme: DigestScheme;
  private readonly flashVersion: readonly number[];
  private readonly strict: boolean;
  private c1Digest: Uint8Array | null = null;
  private s1Claims = false;
  private s1Valid = false;

  constructor(options: HandshakeClientOptions = {}) {
    this.random = options.random ?? defaultRandom;
    this.now = options.now ?? defaultNow;
    this.digest = options.digest ?? true;
    this.strict = options.strict ?? false;
    const scheme = options.scheme ?? 8;
    if (scheme !== 8 && scheme !== 772) {
      throw new HandshakeError(HandshakeErrorCode.INVALID_ARGUMENT, 'scheme must be 8 or 772');
    }
    this.scheme = scheme;
    this.flashVersion = checkVersionBytes(
      options.flashVersion ?? DEFAULT_FLASH_VERSION,
      (v) => v.some((b) => b !== 0),
      'flashVersion must be four non-zero bytes',
    );
  }

  /** Builds C0+C1 (1537 bytes) to send first. Callable once. */
  start(): Uint8Array {
    this.reader.throwIfFailed();
    if (this.started) {
      throw new HandshakeError(HandshakeErrorCode.INVALID_STATE, 'start() may be called only once');
    }
    return this.reader.guard(() => this.buildC0C1());
  }

  private buildC0C1(): Uint8Array {
    const out = new Uint8Array(1 + HANDSHAKE_SIZE);
    out[0] = 3;
    const c1 = out.subarray(1);
    writeTime(c1, 0, this.now);
    c1.set(randomChecked(this.random, HANDSHAKE_SIZE - 8), 8);
    if (this.digest) {
      c1.set(this.flashVersion, 4);
      // Copied out: the caller owns `out` and may reuse it once written.
      this.c1Digest = writeDigest(c1, this.scheme, CLIENT_C1_KEY).digest.slice();
    }
    this.started = true;
    return out;
  }

  /**
   * Consumes bytes received from the server. Survives any split of the input. Throws {@link HandshakeError} on a
   * bad S0 version, or in `strict` mode on an invalid server digest; after that every call throws the same error.
   */
  push(bytes: Uint8Array): HandshakeResult {
    this.reader.throwIfFailed();
    if (!this.started) {
      throw new HandshakeError(HandshakeErrorCode.INVALID_STATE, 'call start() before push()');
    }
    return this.reader.push(bytes);
  }

  private onS1(s1: Uint8Array): Uint8Array {
    this.serverTime = readU32(s1, 0);
    this.serverVersion = readU32(s1, 4);
    let found: FoundDigest | null = null;
    if (this.c1Digest !== null && this.serverVersion !== 0) {
      this.s1Claims = true;
      const other: DigestScheme = this.scheme === 8 ? 772 : 8;
      found = findDigest(s1, SERVER_S1_KEY, [this.scheme, other]);
      this.s1Valid = found !== null;
      if (!this.s1Valid && this.strict && s1[4]! >= 3) {
        throw new HandshakeError(
          HandshakeErrorCode.SERVER_DIGEST_INVALID,
          'S1 claims a digest handshake but carries no valid server digest',
        );
      }
    }
    if (found === null) {
      this.kind = 'simple';
      // The C2 echo must outlive the caller's read buffer.
      return s1.slice();
    }
    this.kind = 'digest';
    const c2 = randomChecked(this.random, HANDSHAKE_SIZE - DIGEST_LENGTH);
    const out = new Uint8Array(HANDSHAKE_SIZE);
    out.set(c2, 0);
    signResponse(out, FLASH_PLAYER_KEY, found.digest);
    return out;
  }

  private onS2(s2: Uint8Array): void {
    if (!this.s1Claims) return;
    const valid = this.s1Valid && verifyResponse(s2, FLASH_MEDIA_SERVER_KEY, this.c1Digest!);
    this.serverDigestValid = valid;
    if (!valid && this.strict && this.serverVersion! >>> 24 >= 3) {
      throw new HandshakeError(
        HandshakeErrorCode.SERVER_DIGEST_INVALID,
        'S2 is not signed with the digest of our C1',
      );
    }
  }
}
