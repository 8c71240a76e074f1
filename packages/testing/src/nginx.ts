import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort, superviseServer } from './net.js';
import { missing, toolAvailable } from './tools.js';

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

/**
 * Whether nginx with the RTMP module can run here, with the CI rule of `hasTool`: missing nginx or module throws
 * under `CI=true`, else warns loudly and returns false.
 */
export function hasNginxRtmp(): boolean {
  if (!toolAvailable('nginx')) {
    missing('nginx');
    return false;
  }
  if (rtmpModulePath() !== undefined) return true;
  missing('nginx RTMP module (libnginx-mod-rtmp)');
  return false;
}

/** A running nginx-rtmp on 127.0.0.1. */
export interface NginxRtmp {
  /** nginx's one process (`master_process off`): the one doing the work. */
  pid: number;
  port: number;
  /** `rtmp://127.0.0.1:<port>/live`. */
  url: string;
  /** Its temp folder (config, pid, error.log). */
  dir: string;
  /** Stops nginx and removes its temp dir; resolves once the process exited. Idempotent. */
  stop(): Promise<void>;
  /** nginx's output and error log so far (for failure messages). */
  log(): string;
}

/** Options of {@link startNginxRtmp}. */
export interface NginxRtmpOptions {
  /** `chunk_size` of the server block. Default 4096. */
  chunkSize?: number;
  /** Directives added inside `application live { live on; ... }`. */
  extraApplication?: string;
  /** `error_log` level. Default `info`. */
  logLevel?: 'debug' | 'info' | 'notice' | 'warn' | 'error';
  /** `worker_connections`. Default 1024. */
  workerConnections?: number;
  /** `worker_rlimit_nofile` when set (benchmarks with thousands of players). */
  rlimitNofile?: number;
}

/**
 * Starts nginx-rtmp in the foreground as one process (`daemon off; master_process off; worker_processes 1`) with a
 * config written to a fresh temp dir, on a free port, and waits until it listens. Always call `stop()`.
 */
export async function startNginxRtmp(options: NginxRtmpOptions = {}): Promise<NginxRtmp> {
  const module = rtmpModulePath();
  if (!module) throw new Error('nginx RTMP module (libnginx-mod-rtmp) not found');
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-nginx-'));
  const port = await freePort();
  const errorLog = path.join(dir, 'error.log');
  const conf = `
load_module ${module};
daemon off;
master_process off;
worker_processes 1;
${options.rlimitNofile !== undefined ? `worker_rlimit_nofile ${options.rlimitNofile};` : ''}
error_log ${errorLog} ${options.logLevel ?? 'info'};
pid ${dir}/nginx.pid;
events { worker_connections ${options.workerConnections ?? 1024}; }
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
  const child = spawn('nginx', ['-c', confPath, '-p', dir, '-e', errorLog], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = await superviseServer(child, {
    port,
    name: 'nginx-rtmp',
    dir,
    timeoutMs: 5_000,
    extraLog: () => {
      try {
        return readFileSync(errorLog, 'utf8');
      } catch {
        return '';
      }
    },
  });
  return { ...server, dir };
}
