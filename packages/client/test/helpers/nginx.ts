import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort, hasTool } from './tools.js';

/** Where Debian's libnginx-mod-rtmp puts the module (read from modules-enabled when present). */
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

/** Whether nginx with the RTMP module can run here (loud warning, or failure under CI=true, when not). */
export function hasNginxRtmp(): boolean {
  if (!hasTool('nginx', ['-v'])) return false;
  if (rtmpModulePath() !== undefined) return true;
  if (process.env.CI === 'true')
    throw new Error('libnginx-mod-rtmp is required under CI=true but was not found');
  console.warn('\n!!!!! nginx RTMP module not found: nginx tests are SKIPPED !!!!!\n');
  return false;
}

/** A running nginx-rtmp on 127.0.0.1. */
export interface NginxRtmp {
  port: number;
  /** `rtmp://127.0.0.1:<port>/live`. */
  url: string;
  dir: string;
  /** Stops nginx and removes its temp dir; resolves once the process exited. */
  stop(): Promise<void>;
  /** nginx's error log so far (for failure messages). */
  log(): string;
}

function waitForPort(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`nginx exited with ${child.exitCode}`));
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nginx did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts nginx-rtmp in the foreground (`daemon off; master_process off`) with a config written to a fresh temp
 * dir: `application live { live on; }`, chunk_size 4096, on a free port. Always call `stop()`.
 */
export async function startNginxRtmp(
  options: { chunkSize?: number; extraApplication?: string } = {},
): Promise<NginxRtmp> {
  const module = rtmpModulePath();
  if (!module) throw new Error('nginx RTMP module not found');
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-nginx-'));
  const port = await freePort();
  const conf = `
load_module ${module};
daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/error.log info;
pid ${dir}/nginx.pid;
events { worker_connections 1024; }
rtmp {
  server {
    listen 127.0.0.1:${port};
    chunk_size ${options.chunkSize ?? 4096};
    application live {
      live on;
      ${options.extraApplication ?? ''}
    }
  }
}
`;
  const confPath = path.join(dir, 'nginx.conf');
  writeFileSync(confPath, conf);
  const child = spawn('nginx', ['-c', confPath, '-p', dir, '-e', path.join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => {
    try {
      return stderr + readFileSync(path.join(dir, 'error.log'), 'utf8');
    } catch {
      return stderr;
    }
  };
  try {
    await waitForPort(port, 5_000, child);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    const text = log();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n${text}`);
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `rtmp://127.0.0.1:${port}/live`,
    dir,
    log,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null) {
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
