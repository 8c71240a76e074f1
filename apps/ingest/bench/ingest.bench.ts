/**
 * Ingest benchmark: FFmpeg pushes the fixture file (looped, `-c copy`, no `-re`: as fast as the server takes it)
 * to (a) this app, recording to FLV, and (b) nginx-rtmp with `record all`. Measures the wall time until the
 * recording stops growing and the server process's CPU time (from /proc), median of several runs. Run: `node --import tsx bench/ingest.bench.ts`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, FIXTURES, freePort, sleep } from '../test/helpers.js';

const LOOPS = Number(process.env.BENCH_LOOPS ?? 40);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SOURCE = join(FIXTURES, 'small_h264_aac.flv');
const CLK_TCK = 100;

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} never opened`);
}

interface Server {
  proc: ChildProcess;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

async function startOurs(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  const port = await freePort();
  const httpPort = await freePort();
  const proc = spawn(
    process.execPath,
    [
      CLI,
      '--port',
      String(port),
      '--http-port',
      String(httpPort),
      '--host',
      '127.0.0.1',
      '--record-dir',
      dir,
      '--log-level',
      'warn',
    ],
    { stdio: 'ignore' },
  );
  await waitPort(port);
  return {
    proc,
    url: `rtmp://127.0.0.1:${port}/live/bench`,
    dir,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

function nginxModule(): string | undefined {
  for (const c of [
    '/usr/lib/nginx/modules/ngx_rtmp_module.so',
    '/usr/share/nginx/modules/ngx_rtmp_module.so',
  ]) {
    if (existsSync(c)) return c;
  }
  return undefined;
}

async function startNginx(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `load_module ${nginxModule()};
daemon off; master_process off; worker_processes 1; error_log ${dir}/error.log warn; pid ${dir}/nginx.pid;
events { worker_connections 256; }
rtmp { server { listen 127.0.0.1:${port}; chunk_size 4096;
  application live { live on; record all; record_path ${dir}; record_unique on; } } }
`,
  );
  const proc = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' });
  await waitPort(port);
  return {
    proc,
    url: `rtmp://127.0.0.1:${port}/live/bench`,
    dir,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

async function once(
  start: () => Promise<Server>,
): Promise<{ wallMs: number; cpuMs: number; recorded: number }> {
  const server = await start();
  try {
    const cpu0 = cpuMs(server.proc.pid!);
    const t0 = performance.now();
    const r = spawnSync(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        '-stream_loop',
        String(LOOPS - 1),
        '-i',
        SOURCE,
        '-c',
        'copy',
        '-f',
        'flv',
        server.url,
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
    // FFmpeg is done once the kernel has its bytes; the server is done when its recording stops growing.
    const size = () =>
      readdirSync(server.dir)
        .filter((f) => f.endsWith('.flv'))
        .reduce((n, f) => n + statSync(join(server.dir, f)).size, 0);
    let recorded = size();
    let changedAt = performance.now();
    while (performance.now() - changedAt < 500) {
      await sleep(10);
      const now = size();
      if (now !== recorded) {
        recorded = now;
        changedAt = performance.now();
      }
    }
    const wallMs = changedAt - t0;
    const cpu = cpuMs(server.proc.pid!) - cpu0;
    return { wallMs, cpuMs: cpu, recorded };
  } finally {
    await server.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function bench(name: string, start: () => Promise<Server>) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once(start));
  return {
    name,
    wallMs: median(runs.map((r) => r.wallMs)),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    recordedBytes: median(runs.map((r) => r.recorded)),
  };
}

if (!existsSync(CLI)) throw new Error('build the app first: pnpm --filter @rtmp/ingest build');
const inputBytes = statSync(SOURCE).size * LOOPS;
const media = 4 * LOOPS;
console.log(
  `publish ${LOOPS} x small_h264_aac.flv (${(inputBytes / 1e6).toFixed(1)} MB, ${media} s of media), -c copy, no -re, recording on; median of ${RUNS}`,
);
const results = [await bench('@rtmp/ingest', startOurs)];
if (nginxModule() !== undefined && spawnSync('nginx', ['-v']).error === undefined)
  results.push(await bench('nginx-rtmp 1.2.2', startNginx));
else console.warn('!!! nginx-rtmp not found: peer figures skipped !!!');
console.log('| server | wall ms | server CPU ms | MB/s (wall) | media s per CPU s | recorded MB |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.wallMs.toFixed(0)} | ${r.cpuMs.toFixed(0)} | ${(inputBytes / 1e3 / r.wallMs).toFixed(1)} | ${(media / (r.cpuMs / 1000)).toFixed(0)} | ${(r.recordedBytes / 1e6).toFixed(2)} |`,
  );
}
