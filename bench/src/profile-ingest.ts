/**
 * A steady-state CPU profile of one of our servers under ingest: the server gets `--warmups` ingests of the bench
 * source (compilation, heap growth), then the V8 profiler runs in-process (src/profile-preload.cjs) over `--runs`
 * ingests, and the profile's self and inclusive times are printed (src/profile-summary.ts). With `--perf`, `perf
 * record -e cpu-clock -g` samples the process over the same ingests (native frames: V8's GC, libuv, the kernel's
 * socket work; JavaScript frames named by `--perf-basic-prof`), and its top symbols are printed too.
 *
 * `--no-v8` leaves the V8 profiler off (its sampling thread and the inspector session cost CPU and allocate, which
 * inflates GC in the process it measures): with `--perf`, the least disturbed view.
 *
 * Usage (in bench/): `node --import tsx src/profile-ingest.ts --server=ingest [--warmups=3] [--runs=4]
 * [--copies=5] [--perf] [--perf-map] [--no-v8] [--out=/tmp/rtmp-prof]` (`--perf-map`: `--perf-basic-prof-only-functions`)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { clkTck } from '@rtmp/testing';
import { parseFlags } from './flags.js';
import { ingestSource } from './media.js';
import { cpuTimes } from './proc-times.js';
import { SERVER_NAMES, type ServerName, startServer } from './servers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const flags = parseFlags(process.argv.slice(2));
const name = (flags.get('server') ?? 'ingest') as ServerName;
if (!SERVER_NAMES.includes(name) || name.startsWith('nginx') || name === 'node-media-server') {
  throw new Error(`--server must be one of ours, ingest, ingest-record`);
}
const warmups = Number(flags.get('warmups') ?? 3);
const runs = Number(flags.get('runs') ?? 4);
const out = path.resolve(flags.get('out') ?? '/tmp/rtmp-prof');
const perf = flags.has('perf');
const v8 = !flags.has('no-v8');
mkdirSync(out, { recursive: true });

process.env.RTMP_BENCH_PROFILE_DIR = out;
process.env.RTMP_BENCH_OURS_NODE_ARGS = [
  process.env.RTMP_BENCH_OURS_NODE_ARGS ?? '',
  '--require',
  path.join(here, 'profile-preload.cjs'),
  // JavaScript frame names for perf: costs the profiled process noticeably (more with more code), so opt-in.
  flags.has('perf-map') ? '--perf-basic-prof-only-functions' : '',
].join(' ');

function ffmpeg(file: string, url: string): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-c', 'copy', '-f', 'flv', url]);
}

const source = ingestSource('3M', Number(flags.get('copies') ?? 5));
const server = await startServer(name);
try {
  for (let i = 0; i < warmups; i++) ffmpeg(source.file, `${server.url}/warm${i}`);
  await sleep(500);
  const before = new Set(readdirSync(out));
  if (v8) process.kill(server.pid, 'SIGUSR2');
  const recorder = perf
    ? spawn(
        'perf',
        ['record', '-e', 'cpu-clock', '-g', '-p', String(server.pid), '-o', path.join(out, 'perf.data')],
        {
          stdio: 'ignore',
        },
      )
    : undefined;
  await sleep(300);
  const cpu0 = cpuTimes(server.pid);
  for (let i = 0; i < runs; i++) ffmpeg(source.file, `${server.url}/run${i}`);
  await sleep(300);
  const cpu1 = cpuTimes(server.pid);
  if (v8) process.kill(server.pid, 'SIGUSR2');
  if (recorder) {
    recorder.kill('SIGINT');
    await new Promise((resolve) => recorder.once('exit', resolve));
  }
  const gb = (runs * source.bytes) / 1e9;
  const user = cpu1.user - cpu0.user;
  const system = cpu1.system - cpu0.system;
  console.log(
    `${name}: ${runs} x ${(source.bytes / 1e6).toFixed(1)} MB, CPU ${((user + system) / gb).toFixed(2)} s/GB ` +
      `(user ${(user / gb).toFixed(2)}, system ${(system / gb).toFixed(2)}; ${Math.round((user + system) * clkTck())} ticks)`,
  );
  let file: string | undefined;
  for (let i = 0; v8 && i < 50 && file === undefined; i++) {
    await sleep(100);
    file = readdirSync(out).find((f) => f.endsWith('.cpuprofile') && !before.has(f));
  }
  if (file === undefined) throw new Error('no profile written');
  console.log(`profile: ${path.join(out, file)}`);
  execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'profile-summary.ts'), path.join(out, file), '25'],
    {
      stdio: 'inherit',
    },
  );
  if (perf) {
    console.log(`perf: perf report -i ${path.join(out, 'perf.data')} --no-children --sort dso,sym`);
  }
} finally {
  await server.stop();
}
