// Mutation fuzzing of every decoder and of a whole server session, seeded from the real captures in
// fixtures/captures. Shared by bench/fuzz.ts (>= 1,000,000 cases) and hostile-fuzz.test.ts (a fixed-seed slice).
import { readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { AmfError, decodeAmf0, decodeAmf3, decodeCommandPayload } from '@rtmp/amf';
import { ChunkDecoder, ChunkError, type RtmpMessage } from '@rtmp/chunk';
import {
  FlvError,
  FlvReader,
  parseAudioTag,
  parseScriptData,
  parseVideoTag,
  StreamDemuxer,
} from '@rtmp/flv-demux';
import { HandshakeError, HandshakeServer } from '@rtmp/handshake';
import { allCaptures, fixture } from '@rtmp/testing';
import fc from 'fast-check';
import { LiveRelay, RtmpConnection, RtmpError, SERVER_CAPABILITIES } from '../../src/index.js';
import { createSession } from '../../src/server/session.js';

/** One mutation applied to a seed: overwrite, xor, insert, delete or duplicate bytes at a position. */
type Mutation = { at: number; op: 0 | 1 | 2 | 3 | 4; value: number; len: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const, 4 as const),
  value: fc.integer({ min: 0, max: 255 }),
  len: fc.integer({ min: 1, max: 16 }),
});

/** A seed index, a prefix length, mutations and read boundaries: what every target consumes. */
export interface Case {
  seed: number;
  cut: number;
  mutations: Mutation[];
  splits: number[];
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  seed: fc.nat(),
  cut: fc.nat(),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 8 }),
  splits: fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 12 }),
});

export function mutate(base: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = Uint8Array.from(base);
  for (const m of mutations) {
    if (bytes.length === 0) return Uint8Array.of(m.value);
    const at = m.at % bytes.length;
    switch (m.op) {
      case 0:
        bytes[at] = m.value;
        break;
      case 1:
        bytes[at] = bytes[at]! ^ (1 << (m.value & 7));
        break;
      case 2: {
        const next = new Uint8Array(bytes.length + m.len);
        next.set(bytes.subarray(0, at));
        next.fill(m.value, at, at + m.len);
        next.set(bytes.subarray(at), at + m.len);
        bytes = next;
        break;
      }
      case 3: {
        const len = Math.min(m.len, bytes.length - at);
        const next = new Uint8Array(bytes.length - len);
        next.set(bytes.subarray(0, at));
        next.set(bytes.subarray(at + len), at);
        bytes = next;
        break;
      }
      case 4: {
        const piece = bytes.slice(at, at + m.len);
        const next = new Uint8Array(bytes.length + piece.length);
        next.set(bytes.subarray(0, at + piece.length));
        next.set(piece, at + piece.length);
        next.set(bytes.subarray(at + piece.length), at + 2 * piece.length);
        bytes = next;
        break;
      }
    }
  }
  return bytes;
}

/** Splits `bytes` into reads at the given sizes (cycled), as zero-copy views. */
export function split(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  if (sizes.length === 0) return [bytes];
  const out: Uint8Array[] = [];
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const n = sizes[i++ % sizes.length]!;
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Seeds taken from the captures: handshakes, chunk streams after the handshake, command/data payloads, FLV tags. */
export interface Seeds {
  handshakes: Uint8Array[];
  chunkStreams: Uint8Array[];
  amf0: Uint8Array[];
  amf3: Uint8Array[];
  tags: { type: number; body: Uint8Array }[];
  flvFiles: Uint8Array[];
  sessions: Uint8Array[];
}

export function loadSeeds(): Seeds {
  const seeds: Seeds = {
    handshakes: [],
    chunkStreams: [],
    amf0: [],
    amf3: [],
    tags: [],
    flvFiles: [],
    sessions: [],
  };
  for (const [, records] of allCaptures()) {
    for (const dir of [0, 1] as const) {
      const stream = concat(records.filter((r) => r.dir === dir).map((r) => r.bytes));
      if (dir === 0) {
        seeds.handshakes.push(stream.subarray(0, 1537 + 1536 + 64));
        // The session seed: the handshake, every command and the first media, bounded so one case stays cheap.
        seeds.sessions.push(stream.subarray(0, 24 * 1024));
      }
      const chunks = stream.subarray(dir === 0 ? 3073 : 3073);
      seeds.chunkStreams.push(chunks.subarray(0, 48 * 1024));
      let messages: RtmpMessage[] = [];
      try {
        messages = new ChunkDecoder().push(chunks);
      } catch {
        // A capture may end mid-message; what decoded is enough.
      }
      for (const m of messages) {
        if (m.type === 20 || m.type === 18) seeds.amf0.push(m.payload);
        if ((m.type === 8 || m.type === 9) && seeds.tags.length < 400)
          seeds.tags.push({ type: m.type, body: m.payload.subarray(0, 2048) });
      }
    }
  }
  // AMF3 seeds: the AMF0 commands re-wrapped through the AMF3 switch marker are produced by mutation; add a few typical values.
  seeds.amf3.push(
    Uint8Array.from([0x0a, 0x0b, 0x01, 0x07, 0x61, 0x70, 0x70, 0x06, 0x09, 0x6c, 0x69, 0x76, 0x65, 0x01]),
    Uint8Array.from([0x09, 0x05, 0x01, 0x04, 0x01, 0x04, 0x02]),
    Uint8Array.from([0x0c, 0x07, 0x01, 0x02, 0x03]),
    Uint8Array.from([0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f]),
  );
  for (const name of ['small_h264_aac.flv', 'extended_ts_h264_aac.flv', 'enhanced/av1_opus_testsrc.flv']) {
    seeds.flvFiles.push(readFileSync(fixture(name)).subarray(0, 32 * 1024));
  }
  for (const name of ['enhanced/av1_opus_testsrc.flv', 'enhanced/av1_opus_mptestsrc.flv']) {
    for (const tag of new FlvReader({ previousTagSize: 'ignore' })
      .push(readFileSync(fixture(name)))
      .slice(0, 60)) {
      seeds.tags.push({ type: tag.type, body: tag.body.subarray(0, 2048) });
    }
  }
  return seeds;
}

function pick<T>(list: readonly T[], n: number): T {
  return list[n % list.length]!;
}

function input(list: readonly Uint8Array[], c: Case): Uint8Array {
  const base = pick(list, c.seed);
  return mutate(base.subarray(0, base.length - (c.cut % Math.max(1, base.length >> 2))), c.mutations);
}

/** Rethrows anything that is not the expected typed error. */
function only(kind: new (...args: never[]) => Error, error: unknown): void {
  if (!(error instanceof kind)) throw error;
}

/** A failed parser must stay failed: the next push throws the same kind of error. */
function staysFailed(kind: new (...args: never[]) => Error, push: () => unknown): void {
  try {
    push();
  } catch (error) {
    only(kind, error);
    return;
  }
  throw new Error(`${kind.name}: parser accepted input after failing`);
}

export type TargetName = 'handshake' | 'chunk' | 'amf0' | 'amf3' | 'flv-tags' | 'flv-reader' | 'session';

export function syncTargets(seeds: Seeds): Record<Exclude<TargetName, 'session'>, (c: Case) => void> {
  return {
    handshake: (c) => {
      const server = new HandshakeServer();
      try {
        for (const part of split(input(seeds.handshakes, c), c.splits)) server.push(part);
      } catch (error) {
        only(HandshakeError, error);
        staysFailed(HandshakeError, () => server.push(new Uint8Array(1537)));
      }
    },
    chunk: (c) => {
      const decoder = new ChunkDecoder({ maxChunkStreams: 64, maxMessageLength: 0xffffff });
      try {
        for (const part of split(input(seeds.chunkStreams, c), c.splits)) decoder.push(part);
      } catch (error) {
        only(ChunkError, error);
        staysFailed(ChunkError, () =>
          decoder.push(Uint8Array.of(0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 128)),
        );
      }
    },
    amf0: (c) => {
      const bytes = input(seeds.amf0, c);
      for (const run of [
        () => decodeAmf0(bytes),
        () => decodeCommandPayload(bytes, 20),
        () => decodeCommandPayload(bytes, 18),
      ]) {
        try {
          run();
        } catch (error) {
          only(AmfError, error);
        }
      }
    },
    amf3: (c) => {
      const bytes = input([...seeds.amf3, ...seeds.amf0], c);
      for (const run of [
        () => decodeAmf3(bytes),
        () => decodeCommandPayload(Uint8Array.of(0, ...bytes.subarray(0, 4096)), 17),
        () => decodeCommandPayload(bytes, 15),
      ]) {
        try {
          run();
        } catch (error) {
          only(AmfError, error);
        }
      }
    },
    'flv-tags': (c) => {
      const tag = pick(seeds.tags, c.seed);
      const body = mutate(tag.body, c.mutations);
      const demuxer = new StreamDemuxer();
      // The demuxer never throws: bad tags become `error`/`unsupported` events.
      demuxer.push(tag.type, c.cut, body);
      demuxer.push(9, c.cut + 40, mutate(pick(seeds.tags, c.seed + 1).body, c.mutations.slice(1)));
      for (const run of [() => parseVideoTag(body), () => parseAudioTag(body), () => parseScriptData(body)]) {
        try {
          run();
        } catch (error) {
          only(FlvError, error);
        }
      }
    },
    'flv-reader': (c) => {
      const reader = new FlvReader();
      try {
        for (const part of split(input(seeds.flvFiles, c), c.splits)) reader.push(part);
      } catch (error) {
        only(FlvError, error);
        staysFailed(FlvError, () => reader.push(new Uint8Array(16)));
      }
    },
  };
}

/** A socket stand-in for the connection core: what the server writes is discarded. */
class FakeSocket extends Duplex {
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  override _read(): void {}
  override _write(_chunk: unknown, _enc: BufferEncoding, done: () => void): void {
    done();
  }
  setNoDelay(): this {
    return this;
  }
}

/**
 * Feeds a whole mutated client session (handshake, commands, media) into a real server session with the relay
 * behind it. Resolves when everything queued has run; throws if anything but an `RtmpError` came out.
 */
export function sessionTarget(seeds: Seeds): (c: Case) => Promise<void> {
  const relay = new LiveRelay();
  const factory = relay.handler();
  return async (c) => {
    const socket = new FakeSocket();
    const connection = new RtmpConnection(socket as never, {
      role: 'server',
      handshakeTimeout: 0,
      idleTimeout: 0,
      pingInterval: 0,
      closeTimeout: 0,
    });
    const errors: unknown[] = [];
    const session = createSession(
      connection,
      factory as never,
      undefined,
      {
        demux: true,
        chunkSize: 4096,
        windowAckSize: 2_500_000,
        peerBandwidth: 2_500_000,
        maxStreams: 16,
        enhancedRtmp: SERVER_CAPABILITIES,
      },
      { onError: (_s, error) => errors.push(error) },
    );
    let closeError: unknown;
    session.on('close', (e) => {
      closeError = e;
    });
    for (const part of split(input(seeds.sessions, c), c.splits)) {
      if (connection.closed) break;
      socket.emit('data', Buffer.from(part.buffer, part.byteOffset, part.byteLength));
      if (part.length > 2048) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
    connection.destroy();
    await new Promise((r) => setImmediate(r));
    for (const e of [...errors, closeError]) {
      if (e !== undefined && !(e instanceof RtmpError)) throw e;
    }
    if (errors.length > 1) throw new Error(`session logged ${errors.length} errors`);
    if (relay.stats().length > 0)
      throw new Error(`relay kept ${JSON.stringify(relay.stats())} after the session closed`);
  };
}

export interface FuzzResult {
  target: TargetName;
  runs: number;
  ms: number;
}

/** Runs `runs` cases of `target` with `seed`; throws (with fast-check's shrunk counterexample) on the first failure. */
export async function fuzz(
  seeds: Seeds,
  target: TargetName,
  runs: number,
  seed: number,
): Promise<FuzzResult> {
  const started = Date.now();
  if (target === 'session') {
    const run = sessionTarget(seeds);
    await fc.assert(
      fc.asyncProperty(caseArb, (c) => run(c)),
      { numRuns: runs, seed, endOnFailure: true },
    );
  } else {
    const run = syncTargets(seeds)[target];
    fc.assert(
      fc.property(caseArb, (c) => run(c)),
      { numRuns: runs, seed },
    );
  }
  return { target, runs, ms: Date.now() - started };
}

export const TARGETS: TargetName[] = [
  'handshake',
  'chunk',
  'amf0',
  'amf3',
  'flv-tags',
  'flv-reader',
  'session',
];
