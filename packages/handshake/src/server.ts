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
  findDigest,
  HANDSHAKE_SIZE,
  SERVER_S1_KEY,
  signResponse,
  writeDigest,
} from './digest.js';
import { PeerReader } from './gather.js';

/** Options of {@link HandshakeServer}. */
export interface HandshakeServerOptions extends HandshakeCommonOptions {
  /**
   * Answer a C1 that carries a valid digest with a digest S1 and a signed S2 (default `true`). With `false` the
   * server always answers simple, which players that verify S1 (FFmpeg) accept because S1's version is then 0.
   */
  readonly digest?: boolean;
  /**
   * The four version bytes of a digest S1 (default `3.0.1.123`, like FMS 3.0.1). FFmpeg verifies S1 and S2 when
   * the first byte is >= 3, so a digest reply must carry a non-zero version.
   */
  readonly serverVersion?: readonly [number, number, number, number];
}

const DEFAULT_SERVER_VERSION = [3, 0, 1, 123] as const;

/**
 * The server role of the RTMP handshake as a push state machine.
 *
 * Feed it every byte read from the socket with {@link HandshakeServer.push}; send `output`; once `done` is true,
 * hand `rest` and every later byte to the chunk decoder. S0+S1+S2 are sent together as soon as C1 has arrived.
 * C2 is read and discarded whatever its content: clients disagree about what to put there.
 *
 * @example
 * ```ts
 * const hs = new HandshakeServer();
 * socket.on('data', (bytes) => {
 *   const { output, done, rest } = hs.push(bytes);
 *   for (const b of output) socket.write(b);
 *   if (done) startChunkStream(rest);
 * });
 * ```
 */
export class HandshakeServer {
  /** Handshake chosen for this client, or `null` until C1 has arrived. */
  kind: HandshakeKind | null = null;
  /** Scheme at which the client's C1 digest verified, or `null` (simple, or C1 not read yet). */
  clientScheme: DigestScheme | null = null;
  /** The C1 time field, once read. */
  clientTime: number | null = null;
  /** The C1 version field (bytes 4..7 as u32 BE; FFmpeg sends 0x09007C02), once read. */
  clientVersion: number | null = null;
  /** True once C2 has been consumed. */
  get done(): boolean {
    return this.reader.done;
  }

  // C2 is never inspected (see class doc), so the reader skips it without buffering.
  private readonly reader = new PeerReader({ version: 'C0', first: (c1) => this.answer(c1) });
  private readonly random: (size: number) => Uint8Array;
  private readonly now: () => number;
  private readonly answerDigest: boolean;
  private readonly serverVersion: readonly number[];

  constructor(options: HandshakeServerOptions = {}) {
    this.random = options.random ?? defaultRandom;
    this.now = options.now ?? defaultNow;
    this.answerDigest = options.digest ?? true;
    this.serverVersion = checkVersionBytes(
      options.serverVersion ?? DEFAULT_SERVER_VERSION,
      (v) => v[0] !== 0,
      'serverVersion must be four bytes with a non-zero first byte',
    );
  }

  /**
   * Consumes bytes received from the client. Survives any split of the input. Throws {@link HandshakeError} on a
   * bad C0 version; after that (or any other error) every call throws the same error.
   */
  push(bytes: Uint8Array): HandshakeResult {
    return this.reader.push(bytes);
  }

  /** Builds S0+S1+S2 in one buffer for a complete C1. */
  private answer(c1: Uint8Array): Uint8Array {
    this.clientTime = readU32(c1, 0);
    this.clientVersion = readU32(c1, 4);
    // A zero version field means the client did not even try the digest handshake: skip two HMACs.
    const found = this.answerDigest && this.clientVersion !== 0 ? findDigest(c1, CLIENT_C1_KEY) : null;

    const out = new Uint8Array(1 + 2 * HANDSHAKE_SIZE);
    out[0] = 3;
    const s1 = out.subarray(1, 1 + HANDSHAKE_SIZE);
    const s2 = out.subarray(1 + HANDSHAKE_SIZE);
    writeTime(s1, 0, this.now);
    s1.set(randomChecked(this.random, HANDSHAKE_SIZE - 8), 8);

    if (found === null) {
      this.kind = 'simple';
      // Version bytes 4..7 stay zero; S2 echoes C1 verbatim, which librtmp compares against what it sent.
      s2.set(c1);
      return out;
    }
    this.kind = 'digest';
    this.clientScheme = found.scheme;
    s1.set(this.serverVersion, 4);
    writeDigest(s1, found.scheme, SERVER_S1_KEY);
    s2.set(randomChecked(this.random, HANDSHAKE_SIZE - DIGEST_LENGTH), 0);
    signResponse(s2, FLASH_MEDIA_SERVER_KEY, found.digest);
    return out;
  }
}
