import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNginxRtmp, superviseServer } from '@rtmp/testing';

/** The servers compared, in table order. */
export const SERVER_NAMES = ['ours', 'nginx-rtmp', 'node-media-server'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

/** A server running in its own process on 127.0.0.1. */
export interface RunningServer {
  name: ServerName;
  /** The process whose CPU time and RSS are measured. */
  pid: number;
  port: number;
  /** `rtmp://127.0.0.1:<port>/live`. */
  url: string;
  /** Stops the server, waits for its exit and removes its temp dir. */
  stop(): Promise<void>;
  /** What the server printed (for failure messages). */
  log(): string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const benchRoot = path.resolve(here, '..');

async function supervise(
  name: ServerName,
  child: ChildProcess,
  port: number,
  dir: string,
): Promise<RunningServer> {
  return { name, ...(await superviseServer(child, { port, name, dir })) };
}

/** Ours: `RtmpServer` + `LiveRelay` in a child Node process (src/servers/ours.mjs). */
async function startOurs(): Promise<RunningServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-bench-ours-'));
  // RTMP_BENCH_CPU_PROF=<dir> profiles our server (`node --cpu-prof`) to find its hot paths.
  const profile = process.env.RTMP_BENCH_CPU_PROF;
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profile)}`] : [];
  // RTMP_BENCH_OURS_NODE_ARGS="--flag ..." runs our server with extra Node/V8 flags (tuning experiments).
  nodeArgs.push(...(process.env.RTMP_BENCH_OURS_NODE_ARGS ?? '').split(/\s+/).filter(Boolean));
  const child = spawn(process.execPath, [...nodeArgs, path.join(here, 'servers/ours.mjs'), String(port)], {
    cwd: benchRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  return supervise('ours', child, port, dir);
}

/** node-media-server 4.4.3 in a child Node process (src/servers/nms.cjs). */
async function startNms(): Promise<RunningServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-bench-nms-'));
  const child = spawn(process.execPath, [path.join(here, 'servers/nms.cjs'), String(port), dir], {
    cwd: benchRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  return supervise('node-media-server', child, port, dir);
}

/**
 * nginx-rtmp in the foreground as one process (`master_process off; worker_processes 1`), so the pid we spawn is
 * the one doing the work; sized for thousands of players.
 */
async function startNginx(): Promise<RunningServer> {
  const nginx = await startNginxRtmp({ logLevel: 'warn', workerConnections: 4096, rlimitNofile: 8192 });
  return {
    name: 'nginx-rtmp',
    pid: nginx.pid,
    port: nginx.port,
    url: nginx.url,
    stop: nginx.stop,
    log: nginx.log,
  };
}

/** Starts one server on a free port of 127.0.0.1. */
export function startServer(name: ServerName): Promise<RunningServer> {
  switch (name) {
    case 'ours':
      return startOurs();
    case 'nginx-rtmp':
      return startNginx();
    case 'node-media-server':
      return startNms();
  }
}
