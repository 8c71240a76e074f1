/**
 * Server-side handshakes per second, digest vs simple, beside node-media-server's handshake (its `Rtmp` class fed
 * the same C0+C1 and C2). Run: `pnpm --filter @rtmp/handshake bench` (= `node --import tsx bench/handshake.bench.ts`).
 */
import { createRequire } from 'node:module';
import { HandshakeClient, HandshakeServer } from '../src/index.js';

interface NmsRtmp {
  onOutputCallback: (b: Buffer) => void;
  parserData(b: Buffer): string | null;
}

/** node-media-server is a devDependency of sibling packages; this package does not depend on it. */
function loadNms(): (new () => NmsRtmp) | null {
  for (const base of ['../package.json', '../../chunk/package.json', '../../amf/package.json']) {
    try {
      const require = createRequire(new URL(base, import.meta.url));
      const mod = require('node-media-server/src/protocol/rtmp.js') as new () => NmsRtmp;
      return mod;
    } catch {
      // try the next location
    }
  }
  return null;
}

const POOL = 64;
function inputs(digest: boolean): { c0c1: Buffer[]; c2: Buffer } {
  const c0c1: Buffer[] = [];
  for (let i = 0; i < POOL; i++) c0c1.push(Buffer.from(new HandshakeClient({ digest }).start()));
  return { c0c1, c2: Buffer.alloc(1536, 7) };
}

/** Best of three 1-second runs: GC pauses (node-media-server allocates a lot per connection) make single runs noisy. */
function measure(run: (i: number) => void, ms = 1000): number {
  for (let i = 0; i < 2000; i++) run(i); // warm-up
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      for (let i = 0; i < 200; i++) run(n++);
      elapsed = performance.now() - start;
    }
    best = Math.max(best, (n / elapsed) * 1000);
  }
  return best;
}

const Nms = loadNms();
const rows: [string, string, string, string][] = [];
let sink = 0;
for (const digest of [false, true]) {
  const { c0c1, c2 } = inputs(digest);
  const ours = measure((i) => {
    const s = new HandshakeServer();
    sink += s.push(c0c1[i % POOL]!).output.length;
    sink += s.push(c2).done ? 1 : 0;
  });
  let peer = Number.NaN;
  if (Nms !== null) {
    peer = measure((i) => {
      const r = new Nms();
      r.onOutputCallback = (b) => {
        sink += b.length;
      };
      r.parserData(c0c1[i % POOL]!);
      r.parserData(c2);
    });
  }
  rows.push([
    digest ? 'digest' : 'simple',
    Math.round(ours).toLocaleString('en-US'),
    Number.isNaN(peer) ? 'n/a' : Math.round(peer).toLocaleString('en-US'),
    Number.isNaN(peer) ? '' : `${(ours / peer).toFixed(2)}x`,
  ]);
}

console.log(
  `node ${process.version}, ${process.arch}; server side, C0+C1 then C2 per handshake${Nms ? '' : ' (node-media-server not found)'}`,
);
console.log('| handshake | @rtmp/handshake (hs/s) | node-media-server 4.4.3 (hs/s) | ratio |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (sink === 42) console.log('');
