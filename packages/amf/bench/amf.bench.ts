/**
 * Benchmark: decode and encode of a real connect command and a real @setDataFrame onMetaData (from the FFmpeg publish
 * capture), @rtmp/amf beside node-media-server's AMF0 codec, same inputs, same run.
 *
 *   pnpm --filter @rtmp/amf bench      (= node --import tsx bench/amf.bench.ts)
 *
 * Each figure is the best of ROUNDS short rounds, the two codecs alternating round by round, so that load from other
 * processes hits both sides alike and the best round approaches the unloaded speed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeCommandPayload, encodeCommandPayload } from '../src/index.js';

type Nms = {
  amf0Decode(buf: Buffer): unknown[];
  amf0Encode(values: unknown[]): Buffer;
};
const require = createRequire(import.meta.url);
const nms = require('node-media-server/src/protocol/amf.js') as Nms;

const ROUNDS = Number(process.env.ROUNDS ?? 25);
const ROUND_MS = Number(process.env.ROUND_MS ?? 40);

const here = path.dirname(fileURLToPath(import.meta.url));
const { messages } = JSON.parse(
  readFileSync(path.join(here, '../test/fixtures/capture-commands.json'), 'utf8'),
) as {
  messages: { capture: string; name: string; type: number; hex: string }[];
};
function payload(name: string): { type: number; bytes: Buffer } {
  const m = messages.find((x) => x.capture === 'ffmpeg-publish-h264-aac.rtmpcap' && x.name === name);
  if (!m) throw new Error(`missing ${name}`);
  return { type: m.type, bytes: Buffer.from(m.hex, 'hex') };
}

let sink = 0;
/** ops/s of one round of about ROUND_MS. */
function round(fn: () => { length: number }): number {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ROUND_MS) {
    for (let i = 0; i < 250; i++) sink ^= fn().length;
    ops += 250;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

function compare(a: () => { length: number }, b: () => { length: number }): [number, number] {
  round(a);
  round(b);
  let bestA = 0;
  let bestB = 0;
  for (let r = 0; r < ROUNDS; r++) {
    bestA = Math.max(bestA, round(a));
    bestB = Math.max(bestB, round(b));
  }
  return [bestA, bestB];
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(13);
console.log(
  `Node ${process.version}, ${process.platform}/${process.arch}; best of ${ROUNDS} x ${ROUND_MS} ms rounds`,
);
console.log(
  `${'case'.padEnd(30)}${'@rtmp/amf'.padStart(13)}${'nms 4.4.3'.padStart(13)}${'ratio'.padStart(8)}   (ops/s)`,
);
let minRatio = Number.POSITIVE_INFINITY;
for (const name of ['connect', '@setDataFrame']) {
  const { type, bytes } = payload(name);
  const ours = decodeCommandPayload(bytes, type);
  const theirs = nms.amf0Decode(bytes);
  const cases: [string, () => { length: number }, () => { length: number }][] = [
    ['decode', () => decodeCommandPayload(bytes, type), () => nms.amf0Decode(bytes)],
    ['encode', () => encodeCommandPayload(ours, type), () => nms.amf0Encode(theirs)],
  ];
  for (const [op, a, b] of cases) {
    const [oursOps, theirOps] = compare(a, b);
    const ratio = oursOps / theirOps;
    minRatio = Math.min(minRatio, ratio);
    const label = `${name === '@setDataFrame' ? 'onMetaData' : name} ${op} (${bytes.length} B)`;
    console.log(`${label.padEnd(30)}${fmt(oursOps)}${fmt(theirOps)}${`${ratio.toFixed(1)}x`.padStart(8)}`);
  }
}
console.log(`lowest ratio: ${minRatio.toFixed(1)}x (target >= 3x)${sink === -1 ? '' : ''}`);
