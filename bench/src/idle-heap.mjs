// Preload (`node --expose-gc --import <this file> apps/ingest/dist/cli.js ...`): after IDLE_HEAP_MS (default 10 s) of
// idling, one full garbage collection, then the old generation (every heap space but the young generation and the
// read-only space), old space alone and RSS on stderr. Issue 18's measure of what a server holds at idle against
// V8's 8 MB threshold for starting incremental marking.
import v8 from 'node:v8';

const after = Number(process.env.IDLE_HEAP_MS ?? 10_000);
const mb = (bytes) => (bytes / 1048576).toFixed(2);
setTimeout(() => {
  globalThis.gc();
  const spaces = v8.getHeapSpaceStatistics();
  const old = spaces
    .filter((s) => !/new|read_only/.test(s.space_name))
    .reduce((sum, s) => sum + s.space_used_size, 0);
  const oldSpace = spaces.find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
  const rss = process.memoryUsage().rss;
  process.stderr.write(
    `idle-heap: old generation ${mb(old)} MB, old space ${mb(oldSpace)} MB, RSS ${mb(rss)} MB\n`,
  );
}, after).unref();
