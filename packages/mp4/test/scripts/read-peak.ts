// Reads an MP4 file through `Mp4File.tags()` and prints the peak of Node's array-buffer memory (what holds file
// bytes), measured after a forced GC every 20 tags. Run with `node --expose-gc --import tsx`.
import { Mp4File } from '../../src/index.js';

const [path, cacheBytes] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (path === undefined || gc === undefined)
  throw new Error('usage: node --expose-gc --import tsx read-peak.ts <file> [cache]');
const file = await Mp4File.open(path, cacheBytes === undefined ? {} : { cacheBytes: Number(cacheBytes) });
gc();
const base = process.memoryUsage().arrayBuffers;
let peak = 0;
let tags = 0;
let bytes = 0;
for await (const tag of file.tags()) {
  tags++;
  bytes += tag.body.byteLength;
  if (tags % 20 === 0) {
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }
}
file.close();
console.log(JSON.stringify({ tags, bytes, peak }));
