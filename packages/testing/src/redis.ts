import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort, type ServerProcess, superviseServer } from './net.js';
import { missing, toolAvailable } from './tools.js';

/**
 * Whether Debian's `redis-server` can run here, with the CI rule of `hasTool`: missing, it throws under `CI=true`
 * (`.ci/run` installs the `redis-server` package), else warns loudly and returns false.
 */
export function hasRedis(): boolean {
  if (toolAvailable('redis-server', ['--version'])) return true;
  missing('redis-server');
  return false;
}

/** A running redis-server on 127.0.0.1, in the foreground, with no persistence. */
export interface RunningRedis {
  port: number;
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** The server process now (a new one after {@link RunningRedis.restart}). */
  readonly pid: number;
  /** Stops it and removes its folder; resolves once it exited. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops it and starts a new one on the same port: with `--save ''` it comes back empty, as a Redis without
   * persistence does after a crash.
   */
  restart(): Promise<void>;
  /** What it printed so far. */
  log(): string;
}

/**
 * Starts `redis-server` on a free port of 127.0.0.1 (or `port`) with `--save ''` and `--appendonly no` (nothing
 * written to disk), in a fresh temporary folder, and waits until it listens. Always call `stop()`.
 */
export async function startRedis(options: { port?: number } = {}): Promise<RunningRedis> {
  const port = options.port ?? (await freePort());
  let server = await launch(port);
  let stopped = false;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return server.pid;
    },
    log: () => server.log(),
    stop: async () => {
      stopped = true;
      await server.stop();
    },
    restart: async () => {
      if (stopped) throw new Error('redis-server was stopped');
      await server.stop();
      server = await launch(port);
    },
  };
}

async function launch(port: number): Promise<ServerProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return superviseServer(child, { port, name: 'redis-server', dir, timeoutMs: 10_000 });
}
