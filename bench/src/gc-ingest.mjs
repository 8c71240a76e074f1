// Mark-compacts, scavenges and CPU ticks per ingest of apps/ingest, several checkouts interleaved (issue 18).
// Each checkout's built app runs under `node --trace-gc` (default flags but the ports); the bench source (build it
// once with any run of `pnpm bench`) is published to each in turn, `ingests` times, with FFmpeg `-c copy`.
// Usage (in bench/): node src/gc-ingest.mjs <source.flv> <ingests> <checkout> [<checkout>...]
import { execFileSync, spawn } from 'node:child_process';
import { openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [source, ingests = '8', ...roots] = process.argv.slice(2);
if (source === undefined || roots.length === 0)
  throw new Error('usage: gc-ingest.mjs <source.flv> <ingests> <checkout>...');
const bytes = statSync(source).size;
/** utime + stime of a process, in clock ticks (1/100 s). */
const ticks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
};
const gcCounts = (log) => {
  const text = readFileSync(log, 'utf8');
  return { mc: (text.match(/Mark-Compact/g) ?? []).length, sc: (text.match(/Scavenge/g) ?? []).length };
};
const apps = roots.map((root, i) => {
  const port = 19400 + i * 2;
  const log = join(tmpdir(), `gc-ingest-${process.pid}-${i}.log`);
  const child = spawn(
    process.execPath,
    [
      '--trace-gc',
      join(root, 'apps/ingest/dist/cli.js'),
      '--port',
      String(port),
      '--http-port',
      String(port + 1),
    ],
    { cwd: root, stdio: ['ignore', openSync(log, 'w'), 'ignore'] },
  );
  return { root, port, log, child, rows: [], seen: { mc: 0, sc: 0 } };
});
try {
  await sleep(3000);
  for (const app of apps) app.seen = gcCounts(app.log);
  for (let n = 0; n < Number(ingests); n++) {
    for (const app of apps) {
      const before = ticks(app.child.pid);
      const url = `rtmp://127.0.0.1:${app.port}/live/g${n}`;
      execFileSync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-i',
        source,
        '-c',
        'copy',
        '-f',
        'flv',
        url,
      ]);
      await sleep(300);
      const now = gcCounts(app.log);
      app.rows.push({
        ticks: ticks(app.child.pid) - before,
        mc: now.mc - app.seen.mc,
        sc: now.sc - app.seen.sc,
      });
      app.seen = now;
    }
  }
  for (const app of apps) {
    const total = app.rows.reduce((sum, r) => sum + r.ticks, 0);
    const list = (key) => app.rows.map((r) => r[key]).join(',');
    const perGb = (total / 100 / ((bytes * app.rows.length) / 1e9)).toFixed(2);
    console.log(
      `${app.root}: ticks ${list('ticks')} | mark-compacts ${list('mc')} | scavenges ${list('sc')} | CPU ${perGb} s/GB`,
    );
  }
} finally {
  for (const app of apps) app.child.kill('SIGTERM');
}
