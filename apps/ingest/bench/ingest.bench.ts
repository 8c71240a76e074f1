/**
 * Ingest benchmark: FFmpeg pushes the fixture file (looped, `-c copy`, no `-re`: as fast as the server takes it)
 * to (a) this app, recording to FLV, and (b) nginx-rtmp with `record all`. Measures the wall time until the
 * recording stops growing and the server process's CPU time (from /proc), median of several runs. Run: `node --import tsx bench/ingest.bench.ts`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cpuSeconds,
  FIXTURES,
  freePort,
  hasNginxRtmp,
  type ServerProcess,
  sleep,
  startNginxRtmp,
  superviseServer,
} from '@rtmp/testing';
import { CLI } from '../test/helpers.js';

const LOOPS = Number(process.env.BENCH_LOOPS ?? 40);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SOURCE = join(FIXTURES, 'small_h264_aac.flv');

const cpuMs = (pid: number): number => cpuSeconds(pid) * 1000;

/** A server under test with the folder it records into. */
interface Server {
  process: ServerProcess;
  url: string;
  /** Where its recordings go (removed by stop). */
  dir: string;
  stop(): Promise<void>;
}

function recording(process: ServerProcess, dir: string): Server {
  return {
    process,
    url: `${process.url}/bench`,
    dir,
    stop: async () => {
      await process.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startOurs(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  const port = await freePort();
  const httpPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...[CLI, '--port', String(port), '--http-port', String(httpPort), '--host', '127.0.0.1'],
      ...['--record-dir', dir, '--log-level', 'warn'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return recording(await superviseServer(child, { port, name: '@rtmp/ingest' }), dir);
}

async function startNginx(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  const nginx = await startNginxRtmp({
    logLevel: 'warn',
    workerConnections: 256,
    extraApplication: `record all; record_path ${dir}; record_unique on;`,
  });
  return recording(nginx, dir);
}

async function once(
  start: () => Promise<Server>,
): Promise<{ wallMs: number; cpuMs: number; recorded: number }> {
  const server = await start();
  try {
    const cpu0 = cpuMs(server.process.pid);
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
    const cpu = cpuMs(server.process.pid) - cpu0;
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
if (hasNginxRtmp()) results.push(await bench('nginx-rtmp 1.2.2', startNginx));
else console.warn('!!! nginx-rtmp not found: peer figures skipped !!!');
console.log('| server | wall ms | server CPU ms | MB/s (wall) | media s per CPU s | recorded MB |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.wallMs.toFixed(0)} | ${r.cpuMs.toFixed(0)} | ${(inputBytes / 1e3 / r.wallMs).toFixed(1)} | ${(media / (r.cpuMs / 1000)).toFixed(0)} | ${(r.recordedBytes / 1e6).toFixed(2)} |`,
  );
}
