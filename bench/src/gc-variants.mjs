// Mark-compacts, scavenges and CPU ticks per ingest of apps/ingest (or the bare server) under several sets of Node
// flags or of several checkouts, many processes at once, ingests interleaved (issue 18). All processes start together; each round publishes
// the source once to each process in turn (FFmpeg `-c copy`), so a process idles while the others ingest (about 1 s
// per other process), as servers do between publishes. Every process runs under `--trace-gc`.
//
// Usage (in bench/, after a build):
//   node src/gc-variants.mjs <source.flv> <ingests> <label>|<node flags>|<app|bare>[|<checkout>] ...
// (<checkout>: the root of another built checkout whose app or bare server to run; default: this one)
// e.g. 10 default apps against 10 with --no-incremental-marking, or this checkout's app against main's:
//   args=(); for i in $(seq 10); do args+=("d$i||app" "n$i|--no-incremental-marking|app"); done
//   args=(); for i in $(seq 10); do args+=("this$i||app" "main$i||app|/tmp/main-build"); done
//   node src/gc-variants.mjs .cache/testsrc2-720p30-3M-aac-60s-x5.flv 4 "${args[@]}"
// Prints one line per process (ticks, mark-compacts, scavenges per ingest; warm CPU s/GB over all but the first
// ingest; peak RSS), then the mean per label prefix (the label without its trailing digits).
// START (ms, default 10000) is the wait for every process to listen; PORTBASE (default 34000) the first port.
import { execFileSync, spawn } from 'node:child_process';
import { openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(import.meta.url), '../../..');
const [source, ingests = '4', ...specs] = process.argv.slice(2);
if (source === undefined || specs.length === 0)
  throw new Error(
    'usage: gc-variants.mjs <source.flv> <ingests> <label>|<node flags>|<app|bare>[|<checkout>] ...',
  );
const bytes = statSync(source).size;
/** utime + stime of a process, in clock ticks (1/100 s). */
const ticks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
};
const peakRssMb = (pid) =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const gcCounts = (log) => {
  const text = readFileSync(log, 'utf8');
  return { mc: (text.match(/Mark-Compact/g) ?? []).length, sc: (text.match(/Scavenge/g) ?? []).length };
};
const portBase = Number(process.env.PORTBASE ?? 34000);
const servers = specs.map((spec, i) => {
  const [label, flags = '', kind = 'app', root = repo] = spec.split('|');
  const port = portBase + i * 2;
  const log = join(tmpdir(), `gc-variants-${process.pid}-${label}.log`);
  const script =
    kind === 'bare'
      ? [join(root, 'bench/src/servers/ours.mjs'), String(port)]
      : [join(root, 'apps/ingest/dist/cli.js'), '--port', String(port), '--http-port', String(port + 1)];
  const child = spawn(process.execPath, ['--trace-gc', ...flags.split(' ').filter(Boolean), ...script], {
    cwd: kind === 'bare' ? join(root, 'bench') : root,
    stdio: ['ignore', openSync(log, 'w'), 'ignore'],
  });
  return { label, port, log, child, rows: [], seen: { mc: 0, sc: 0 } };
});
try {
  await sleep(Number(process.env.START ?? 10_000));
  for (const s of servers) s.seen = gcCounts(s.log);
  for (let n = 0; n < Number(ingests); n++) {
    for (const s of servers) {
      const before = ticks(s.child.pid);
      execFileSync('ffmpeg', [
        ...['-hide_banner', '-loglevel', 'error', '-i', source],
        ...['-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${s.port}/live/g${n}`],
      ]);
      await sleep(300);
      const now = gcCounts(s.log);
      s.rows.push({ ticks: ticks(s.child.pid) - before, mc: now.mc - s.seen.mc, sc: now.sc - s.seen.sc });
      s.seen = now;
    }
  }
  const byPrefix = new Map();
  for (const s of servers) {
    const warm = s.rows.slice(1);
    const perGb = warm.reduce((sum, r) => sum + r.ticks, 0) / 100 / ((bytes * warm.length) / 1e9);
    const rss = peakRssMb(s.child.pid);
    const list = (key) => s.rows.map((r) => r[key]).join(',');
    console.log(
      `${s.label}: ticks ${list('ticks')} | mark-compacts ${list('mc')} | scavenges ${list('sc')} | ` +
        `warm ${perGb.toFixed(2)} CPU s/GB | peak RSS ${rss.toFixed(1)} MB`,
    );
    const prefix = s.label.replace(/\d+$/, '');
    const acc = byPrefix.get(prefix) ?? { n: 0, perGb: 0, rss: 0, warmMc: 0 };
    acc.n++;
    acc.perGb += perGb;
    acc.rss += rss;
    acc.warmMc += warm.reduce((sum, r) => sum + r.mc, 0);
    byPrefix.set(prefix, acc);
  }
  for (const [prefix, a] of byPrefix) {
    console.log(
      `${prefix}: ${a.n} processes, warm ${(a.perGb / a.n).toFixed(2)} CPU s/GB, ` +
        `${(a.warmMc / a.n).toFixed(1)} mark-compacts per process after the first ingest, peak RSS ${(a.rss / a.n).toFixed(1)} MB`,
    );
  }
} finally {
  for (const s of servers) s.child.kill('SIGTERM');
}
