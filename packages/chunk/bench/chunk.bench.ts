// Decode and encode throughput of @rtmp/chunk (contiguous and pieces payload modes) beside node-media-server's chunk
// parser, fed the same bytes in the same run. Run: pnpm --filter @rtmp/chunk bench   (= node --import tsx bench/chunk.bench.ts)
import { createRequire } from 'node:module';
import { ChunkDecoder, ChunkEncoder, encodeMessage, type RtmpMessage } from '../src/index.js';
import { ViewFloorDecoder } from './view-floor.js';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: untyped CommonJS peer
const NmsRtmp: any = require('node-media-server/src/protocol/rtmp.js');

const SECONDS = 20;
const READ_SIZE = 64 * 1024; // what a socket typically hands over per 'data' event

// A deterministic, realistic publish: 30 fps H.264 at ~4.5 Mbps (a 2 s GOP with keyframes ~8x a P-frame) and AAC
// frames of ~370 bytes at 44.1 kHz (~43/s), interleaved by timestamp like FFmpeg sends them.
function mediaMessages(): RtmpMessage[] {
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const out: { m: RtmpMessage; t: number }[] = [];
  const bytesPerFrame = 4_500_000 / 8 / 30;
  for (let i = 0; i < SECONDS * 30; i++) {
    const key = i % 60 === 0;
    const size = Math.round(bytesPerFrame * (key ? 4 : 0.95) * (0.8 + 0.4 * rand()));
    const t = Math.round((i * 1000) / 30);
    out.push({ m: { type: 9, streamId: 1, timestamp: t, payload: new Uint8Array(size).fill(i & 255) }, t });
  }
  for (let i = 0; i < (SECONDS * 44100) / 1024; i++) {
    const t = Math.round((i * 1024 * 1000) / 44100);
    const size = 340 + Math.round(60 * rand());
    out.push({
      m: { type: 8, streamId: 1, timestamp: t, payload: new Uint8Array(size).fill(7) },
      t: t + 0.5,
    });
  }
  out.sort((a, b) => a.t - b.t);
  return out.map((x) => x.m);
}

function csidOf(m: RtmpMessage): number {
  return m.type === 8 ? 4 : 6;
}

function encodeStream(messages: RtmpMessage[], chunkSize: number): Buffer {
  const enc = new ChunkEncoder();
  const slices: Uint8Array[] = [];
  if (chunkSize !== 128) slices.push(...enc.setChunkSize(chunkSize));
  for (const m of messages) slices.push(...enc.encode(m, csidOf(m)));
  return Buffer.concat(slices);
}

function reads(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += READ_SIZE) out.push(stream.subarray(i, i + READ_SIZE));
  return out;
}

// Contenders run in alternating rounds of ~250 ms of this process's CPU time (user + system, so that other
// processes on a busy machine distort less); the best round of each counts.
function compare(
  bytesPerRun: number,
  runs: Record<string, () => number>,
): Record<string, { mbps: number; result: number }> {
  const best: Record<string, { mbps: number; result: number }> = {};
  for (const name of Object.keys(runs)) best[name] = { mbps: 0, result: 0 };
  for (let round = 0; round < 8; round++) {
    for (const [name, run] of Object.entries(runs)) {
      let count = 0;
      let result = 0;
      const start = process.cpuUsage();
      let elapsed = 0;
      do {
        result = run();
        count++;
        const used = process.cpuUsage(start);
        elapsed = (used.user + used.system) / 1e6;
      } while (elapsed < 0.25);
      const entry = best[name]!;
      entry.mbps = Math.max(entry.mbps, (bytesPerRun * count) / elapsed / 1e6);
      entry.result = result;
    }
  }
  return best;
}

function ourDecode(chunks: Buffer[]): number {
  const d = new ChunkDecoder();
  let n = 0;
  for (const c of chunks) n += d.push(c).length;
  return n;
}

// Pieces mode: payloads as views of the reads, nothing copied.
function ourDecodePieces(chunks: Buffer[]): number {
  const d = new ChunkDecoder({ payloads: 'pieces' });
  let n = 0;
  for (const c of chunks) n += d.push(c).length;
  return n;
}

// The floor for pieces mode: views and message objects only (bench/view-floor.ts); without views, the header walk.
function floorDecode(chunks: Buffer[], views = true): number {
  const d = new ViewFloorDecoder({ views });
  let n = 0;
  for (const c of chunks) n += d.push(c).length;
  return n;
}

// retain: copy each payload out, as a consumer must before node-media-server reuses its per-csid buffer.
function nmsDecode(chunks: Buffer[], retain: boolean): number {
  const parser = nmsParser(retain);
  for (const c of chunks) parser.push(c);
  return parser.messages();
}

// node-media-server's parser past the handshake (parserData then goes straight to chunkRead), its packet handler
// replaced to count messages instead of running its AMF/FLV handlers; Set Chunk Size must still apply.
function nmsParser(retain: boolean): { push(read: Buffer): void; messages(): number } {
  const rtmp = new NmsRtmp();
  let n = 0;
  rtmp.handshakeState = 3;
  rtmp.packetHandler = function (this: {
    parserPacket: { header: { type: number; length: number }; payload: Buffer };
    controlHandler(): void;
  }) {
    const p = this.parserPacket;
    if (p.header.type === 1) this.controlHandler();
    if (retain && Buffer.from(p.payload.subarray(0, p.header.length)).length !== p.header.length) {
      throw new Error('short copy');
    }
    n++;
  };
  return { push: (read) => rtmp.parserData(read), messages: () => n };
}

const pad = (s: string, n: number) => s.padEnd(n);
const fmt = (x: number) => x.toFixed(0).padStart(7);

const messages = mediaMessages();
const mediaBytes = messages.reduce((s, m) => s + m.payload.length, 0);
console.log(
  `stream: ${SECONDS} s, ${messages.length} messages, ${(mediaBytes / 1e6).toFixed(1)} MB payload ` +
    `(${((mediaBytes * 8) / SECONDS / 1e6).toFixed(2)} Mbps), fed in ${READ_SIZE / 1024} KiB reads; node ${process.version}`,
);
console.log(
  `\n${pad('decode', 24)}${pad('@rtmp/chunk', 14)}${pad('nms', 10)}${pad('ratio', 8)}${pad('nms+retain', 12)}ratio   (MB/s of stream bytes)`,
);
for (const chunkSize of [4096, 128]) {
  const stream = encodeStream(messages, chunkSize);
  const chunks = reads(stream);
  const r = compare(stream.length, {
    ours: () => ourDecode(chunks),
    pieces: () => ourDecodePieces(chunks),
    floor: () => floorDecode(chunks),
    walk: () => floorDecode(chunks, false),
    nms: () => nmsDecode(chunks, false),
    nmsRetain: () => nmsDecode(chunks, true),
  });
  for (const name of ['ours', 'pieces', 'floor', 'walk'] as const) {
    if (r[name]!.result !== r.nms!.result)
      throw new Error(`message counts differ: ${name} ${r[name]!.result} vs nms ${r.nms!.result}`);
  }
  for (const [name, label] of [
    ['ours', 'contiguous'],
    ['pieces', 'pieces'],
    ['floor', 'view floor'],
    ['walk', 'header walk'],
  ] as const) {
    const o = r[name]!.mbps;
    console.log(
      `${pad(`${chunkSize} B chunks, ${label}`, 24)}${pad(fmt(o), 14)}${pad(fmt(r.nms!.mbps), 10)}${pad(`${(o / r.nms!.mbps).toFixed(1)}x`, 8)}` +
        `${pad(fmt(r.nmsRetain!.mbps), 12)}${(o / r.nmsRetain!.mbps).toFixed(1)}x`,
    );
  }
}

// Steady state, as on a live connection: one decoder per contender for the whole run, and every 64 KiB read copied
// into a buffer just before it is decoded, so that it is in cache as a socket's fresh read is (above, the reads come
// from an 11.6 MB stream that mostly is not). Only decoding is timed, per batch of HOT_BATCH reads (512 KiB).
const HOT_BATCH = 8;
const hotRing = Array.from({ length: HOT_BATCH }, () => new ArrayBuffer(READ_SIZE));
function hotMbps(stream: Buffer, push: (read: Buffer) => void): number {
  let ns = 0n;
  let bytes = 0;
  while (ns < 250_000_000n) {
    for (let at = 0; at < stream.length; ) {
      const batch: Buffer[] = [];
      for (let k = 0; k < HOT_BATCH && at < stream.length; k++) {
        const n = Math.min(READ_SIZE, stream.length - at);
        const read = Buffer.from(hotRing[k]!, 0, n);
        read.set(stream.subarray(at, at + n));
        batch.push(read);
        at += n;
      }
      const start = process.hrtime.bigint();
      for (const read of batch) push(read);
      ns += process.hrtime.bigint() - start;
      for (const read of batch) bytes += read.length;
    }
  }
  return bytes / (Number(ns) / 1e9) / 1e6;
}

console.log(
  `\n${pad('decode, steady state', 24)}${pad('@rtmp/chunk', 14)}${pad('nms', 10)}${pad('ratio', 8)}${pad('nms+retain', 12)}ratio   (hot reads, one decoder each)`,
);
for (const chunkSize of [4096, 128]) {
  const stream = encodeStream(messages, chunkSize);
  const contiguous = new ChunkDecoder();
  const pieces = new ChunkDecoder({ payloads: 'pieces' });
  const floor = new ViewFloorDecoder();
  const walk = new ViewFloorDecoder({ views: false });
  const contenders: Record<string, (read: Buffer) => void> = {
    ours: (read) => contiguous.push(read),
    pieces: (read) => pieces.push(read),
    floor: (read) => floor.push(read),
    walk: (read) => walk.push(read),
    nms: nmsParser(false).push,
    nmsRetain: nmsParser(true).push,
  };
  const best: Record<string, number> = {};
  for (let round = 0; round < 8; round++) {
    for (const [name, push] of Object.entries(contenders))
      best[name] = Math.max(best[name] ?? 0, hotMbps(stream, push));
  }
  for (const [name, label] of [
    ['ours', 'contiguous'],
    ['pieces', 'pieces'],
    ['floor', 'view floor'],
    ['walk', 'header walk'],
  ] as const) {
    const o = best[name]!;
    console.log(
      `${pad(`${chunkSize} B chunks, ${label}`, 24)}${pad(fmt(o), 14)}${pad(fmt(best.nms!), 10)}${pad(`${(o / best.nms!).toFixed(1)}x`, 8)}` +
        `${pad(fmt(best.nmsRetain!), 12)}${(o / best.nmsRetain!).toFixed(1)}x`,
    );
  }
}

// node-media-server's encoder (Rtmp.createMessage) always writes 65535-byte chunks into one new Buffer per message.
const nmsPackets = messages.map((m) => ({
  codec_type: m.type,
  size: m.payload.length,
  dts: m.timestamp,
  data: Buffer.from(m.payload),
}));
console.log(
  `\n${pad('encode', 32)}${pad('@rtmp/chunk', 14)}${pad('nms', 10)}ratio   (MB/s of payload; nms always uses 65535 B chunks)`,
);
for (const chunkSize of [4096, 128]) {
  const r = compare(mediaBytes, {
    nms: () => {
      let n = 0;
      for (const p of nmsPackets) n += NmsRtmp.createMessage(p).length;
      return n;
    },
    slices: () => {
      const enc = new ChunkEncoder();
      enc.setChunkSize(chunkSize);
      let n = 0;
      for (const m of messages) n += enc.encode(m, csidOf(m)).length;
      return n;
    },
    relay: () => {
      let n = 0;
      for (const m of messages) n += encodeMessage(m, csidOf(m), chunkSize).length;
      return n;
    },
    joined: () => {
      const enc = new ChunkEncoder();
      enc.setChunkSize(chunkSize);
      let n = 0;
      for (const m of messages) n += Buffer.concat(enc.encode(m, csidOf(m))).length;
      return n;
    },
  });
  const nms = r.nms!.mbps;
  for (const [name, label] of [
    ['slices', 'ChunkEncoder.encode (slices)'],
    ['relay', 'encodeMessage (slices)'],
    ['joined', 'encode + Buffer.concat'],
  ] as const) {
    const o = r[name]!.mbps;
    console.log(
      `${pad(`${chunkSize} B, ${label}`, 32)}${pad(fmt(o), 14)}${pad(fmt(nms), 10)}${(o / nms).toFixed(1)}x`,
    );
  }
}
