/**
 * Where a server's system time under ingest goes: the servers of `--servers` get `--warmups` ingests of the bench
 * source each, then every measured ingest (`--runs`, interleaved across the servers) runs under `perf stat` (page
 * faults, context switches, task clock: `--tool=perf-stat`, the default) or `strace -c -f` (syscall counts and
 * times: `--tool=strace`; strace slows every syscall down, so read its counts, not its times) attached to the
 * server's pid, and the tool's summary is printed with the server's CPU split from /proc.
 *
 * Usage (in bench/): `node --import tsx src/syscalls-ingest.ts --servers=ours,ingest [--tool=strace]
 * [--warmups=2] [--runs=1] [--copies=5]`
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { memory } from '@rtmp/testing';
import { parseFlags } from './flags.js';
import { ingestSource } from './media.js';
import { cpuTimes } from './proc-times.js';
import { type RunningServer, SERVER_NAMES, type ServerName, startServer } from './servers.js';

const flags = parseFlags(process.argv.slice(2));
const names = (flags.get('servers') ?? 'ours,ingest').split(',').map((s) => {
  const name = SERVER_NAMES.find((n) => n === s);
  if (name === undefined) throw new Error(`unknown server ${s}`);
  return name;
});
const tool = flags.get('tool') ?? 'perf-stat';
if (tool !== 'perf-stat' && tool !== 'strace') throw new Error('--tool must be perf-stat or strace');
const warmups = Number(flags.get('warmups') ?? 2);
const runs = Number(flags.get('runs') ?? 1);
const source = ingestSource('3M', Number(flags.get('copies') ?? 5));

function ffmpeg(url: string): void {
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-i',
    source.file,
    '-c',
    'copy',
    '-f',
    'flv',
    url,
  ]);
}

async function measured(server: RunningServer, run: number): Promise<void> {
  const out = path.join(tmpdir(), `rtmp-syscalls-${server.name}-${process.pid}.txt`);
  const args =
    tool === 'strace'
      ? ['-c', '-f', '-p', String(server.pid), '-o', out]
      : [
          'stat',
          '-e',
          'task-clock,page-faults,minor-faults,major-faults,context-switches,cpu-migrations',
          '-p',
          String(server.pid),
          '-o',
          out,
        ];
  const recorder = spawn(tool === 'strace' ? 'strace' : 'perf', args, { stdio: 'ignore' });
  await sleep(500);
  const cpu0 = cpuTimes(server.pid);
  ffmpeg(`${server.url}/m${run}`);
  await sleep(300);
  const cpu1 = cpuTimes(server.pid);
  recorder.kill('SIGINT');
  await new Promise((resolve) => recorder.once('exit', resolve));
  const gb = source.bytes / 1e9;
  console.log(
    `\n== ${server.name} run ${run}: CPU ${((cpu1.user - cpu0.user + cpu1.system - cpu0.system) / gb).toFixed(2)} s/GB ` +
      `(user ${((cpu1.user - cpu0.user) / gb).toFixed(2)}, system ${((cpu1.system - cpu0.system) / gb).toFixed(2)}); ` +
      `peak RSS ${(memory(server.pid).peak / 1e6).toFixed(1)} MB`,
  );
  console.log(readFileSync(out, 'utf8').trim());
  rmSync(out, { force: true });
}

const servers: RunningServer[] = [];
try {
  for (const name of names) servers.push(await startServer(name as ServerName));
  for (let i = 0; i < warmups; i++) for (const server of servers) ffmpeg(`${server.url}/w${i}`);
  await sleep(500);
  for (let run = 0; run < runs; run++) for (const server of servers) await measured(server, run);
} finally {
  for (const server of servers) await server.stop();
}
