import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from './proc.js';

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

/** Where Debian's libnginx-mod-rtmp put the module (read from modules-enabled when present). */
export function rtmpModulePath(): string | undefined {
  const enabled = '/etc/nginx/modules-enabled/50-mod-rtmp.conf';
  if (existsSync(enabled)) {
    const match = /load_module\s+([^;]+);/.exec(readFileSync(enabled, 'utf8'));
    const file = match?.[1]?.trim();
    if (file) {
      const absolute = path.isAbsolute(file) ? file : path.join('/usr/share/nginx', file);
      if (existsSync(absolute)) return absolute;
    }
  }
  for (const candidate of [
    '/usr/lib/nginx/modules/ngx_rtmp_module.so',
    '/usr/share/nginx/modules/ngx_rtmp_module.so',
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

async function supervise(
  name: ServerName,
  child: ChildProcess,
  port: number,
  dir: string,
  extraLog: () => string = () => '',
): Promise<RunningServer> {
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = (): string => output + extraLog();
  try {
    await waitForPort(port, 15_000, () => child.exitCode === null && child.signalCode === null);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${name}: ${(error as Error).message}\n${log()}`);
  }
  if (child.pid === undefined) throw new Error(`${name}: no pid`);
  let stopped: Promise<void> | undefined;
  return {
    name,
    pid: child.pid,
    port,
    url: `rtmp://127.0.0.1:${port}/live`,
    log,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** Ours: `RtmpServer` + `LiveRelay` in a child Node process (src/servers/ours.mjs). */
async function startOurs(): Promise<RunningServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-bench-ours-'));
  // RTMP_BENCH_CPU_PROF=<dir> profiles our server (`node --cpu-prof`) to find its hot paths.
  const profile = process.env.RTMP_BENCH_CPU_PROF;
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profile)}`] : [];
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
 * nginx-rtmp in the foreground as one process (`daemon off; master_process off; worker_processes 1`), so the pid
 * we spawn is the one doing the work, with a config written to a fresh temp dir.
 */
async function startNginx(): Promise<RunningServer> {
  const module = rtmpModulePath();
  if (!module) throw new Error('nginx RTMP module (libnginx-mod-rtmp) not found');
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-bench-nginx-'));
  const conf = `
load_module ${module};
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
rtmp {
  server {
    listen 127.0.0.1:${port};
    chunk_size 4096;
    application live {
      live on;
    }
  }
}
`;
  const confPath = path.join(dir, 'nginx.conf');
  writeFileSync(confPath, conf);
  const child = spawn('nginx', ['-c', confPath, '-p', dir, '-e', path.join(dir, 'error.log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return supervise('nginx-rtmp', child, port, dir, () => {
    try {
      return readFileSync(path.join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  });
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
