import { checkInput, checkVersion, EMPTY, type HandshakeResult } from './common.js';
import { HANDSHAKE_SIZE } from './digest.js';
import { HandshakeError, HandshakeErrorCode } from './errors.js';

/**
 * Collects fixed-size packets from a stream of arbitrary reads. When a packet lies inside one read it is returned
 * as a zero-copy view; only a packet that spans reads is copied, into a buffer of exactly its size.
 */
export class Gatherer {
  private partial: Uint8Array | null = null;
  private filled = 0;

  /**
   * Takes `size` bytes from `input` starting at `pos`. Returns the packet (or `null` when more bytes are needed,
   * in which case everything from `pos` was buffered) and how many input bytes were consumed.
   */
  take(size: number, input: Uint8Array, pos: number): { packet: Uint8Array | null; used: number } {
    const available = input.length - pos;
    if (this.partial === null) {
      if (available >= size) return { packet: input.subarray(pos, pos + size), used: size };
      if (available === 0) return { packet: null, used: 0 };
      this.partial = new Uint8Array(size);
      this.filled = 0;
    }
    const n = Math.min(size - this.filled, available);
    this.partial.set(input.subarray(pos, pos + n), this.filled);
    this.filled += n;
    if (this.filled < size) return { packet: null, used: n };
    const packet = this.partial;
    this.partial = null;
    this.filled = 0;
    return { packet, used: n };
  }
}

enum Phase {
  Version = 0,
  First = 1,
  Second = 2,
  Done = 3,
  Failed = 4,
}

/** What a role does with the peer's packets. */
export interface PeerPackets {
  /** Name of the peer's version byte in error messages. */
  readonly version: 'C0' | 'S0';
  /** Answers the peer's first packet (C1 or S1); the answer is sent at once. */
  first(packet: Uint8Array): Uint8Array;
  /** Checks the peer's second packet (S2); when absent the packet (C2) is skipped without being buffered. */
  second?: (packet: Uint8Array) => void;
}

/**
 * What both roles read from their peer, in order: a version byte, a 1536-byte packet they answer, a second
 * 1536-byte packet; then everything belongs to the chunk stream. Also holds the rule that a failed handshake stays
 * failed: once any step threw, every later call throws the same {@link HandshakeError}.
 */
export class PeerReader {
  private phase = Phase.Version;
  private error: HandshakeError | null = null;
  private readonly gatherer = new Gatherer();
  private secondRemaining = HANDSHAKE_SIZE;

  constructor(private readonly role: PeerPackets) {}

  get done(): boolean {
    return this.phase === Phase.Done;
  }

  /** Throws the stored error, if any. */
  throwIfFailed(): void {
    if (this.error !== null) throw this.error;
  }

  /** Runs `step`; if it throws, enters the failed state for good (callbacks that throw become typed errors). */
  guard<T>(step: () => T): T {
    this.throwIfFailed();
    try {
      return step();
    } catch (err) {
      this.phase = Phase.Failed;
      this.error =
        err instanceof HandshakeError
          ? err
          : new HandshakeError(HandshakeErrorCode.INVALID_ARGUMENT, `handshake failed: ${String(err)}`, {
              cause: err,
            });
      throw this.error;
    }
  }

  /** Consumes bytes from the peer; survives any split of the input. */
  push(bytes: Uint8Array): HandshakeResult {
    return this.guard(() => this.run(bytes));
  }

  private run(bytes: Uint8Array): HandshakeResult {
    checkInput(bytes);
    if (this.phase === Phase.Done) return { output: [], done: true, rest: bytes };
    const output: Uint8Array[] = [];
    let pos = 0;
    while (pos < bytes.length) {
      if (this.phase === Phase.Version) {
        const bad = checkVersion(bytes[pos]!, this.role.version);
        if (bad !== null) throw bad;
        pos += 1;
        this.phase = Phase.First;
        continue;
      }
      if (this.phase === Phase.Second && this.role.second === undefined) {
        const n = Math.min(this.secondRemaining, bytes.length - pos);
        this.secondRemaining -= n;
        pos += n;
        if (this.secondRemaining > 0) continue;
      } else {
        const { packet, used } = this.gatherer.take(HANDSHAKE_SIZE, bytes, pos);
        pos += used;
        if (packet === null) break;
        if (this.phase === Phase.First) {
          output.push(this.role.first(packet));
          this.phase = Phase.Second;
          continue;
        }
        this.role.second?.(packet);
      }
      this.phase = Phase.Done;
      return { output, done: true, rest: bytes.subarray(pos) };
    }
    return { output, done: false, rest: EMPTY };
  }
}
