import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNginxRtmp, superviseServer } from '@rtmp/testing';

/**
 * The servers compared, in table order:
 * - `ours`: the bare `RtmpServer` + `LiveRelay` (src/servers/ours.mjs);
 * - `ingest`: apps/ingest as its README starts it (`node apps/ingest/dist/cli.js`, default flags: statistics and
 *   codec probing on, JSON logs), only `--port`/`--http-port` on free ports;
 * - `nginx-rtmp`, `node-media-server`: the peers;
 * - `ingest-record`: apps/ingest with `--record-dir`, beside `nginx-rtmp-record`: nginx-rtmp with `record all`;
 * - `floor-read`, `floor-decode`: the floor of a Node ingest server (src/servers/floor.mjs): once the publish has
 *   started, the publisher's bytes are only read and dropped, or read and chunk-decoded (ingest only);
 * - `floor-fanout`: the floor of a Node fan-out server (src/servers/floor-fanout.mjs): once the publish has started,
 *   the publisher's bytes are read and chunk-decoded, and each read's messages are encoded once and written to every
 *   player socket with one write each (fan-out only); `floor-fanout-nagle`: the same with Nagle's algorithm on
 *   for the player sockets, as nginx-rtmp leaves it (TCP_NODELAY unset), not run unless named in `--servers`;
 * - `ours-base`, `ingest-base`: the bare server and apps/ingest of another checkout, built (`--baseline=DIR`), to
 *   compare two versions in the same interleaved rounds.
 */
export const SERVER_NAMES = [
  'ours',
  'floor-fanout',
  'floor-fanout-nagle',
  'ingest',
  'nginx-rtmp',
  'node-media-server',
  'ingest-record',
  'nginx-rtmp-record',
  'floor-read',
  'floor-decode',
  'ours-base',
  'ingest-base',
] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

/**
 * The servers run when `--servers` is not given (the baseline pair only with `--baseline`; the Nagle variant of the
 * fan-out floor only when asked for).
 */
export const DEFAULT_SERVERS: readonly ServerName[] = SERVER_NAMES.filter(
  (s) => !s.endsWith('-base') && s !== 'floor-fanout-nagle',
);

/** The servers that take part in the fan-out steps (recording changes nothing for players). */
export const FANOUT_SERVERS: readonly ServerName[] = [
  'ours',
  'floor-fanout',
  'floor-fanout-nagle',
  'ingest',
  'nginx-rtmp',
  'node-media-server',
  'ours-base',
  'ingest-base',
];

/** The servers that take part in the ingest rounds (the fan-out floor relays to players, which ingest has none of). */
export const INGEST_SERVERS: readonly ServerName[] = SERVER_NAMES.filter(
  (s) => !s.startsWith('floor-fanout'),
);

/** What each server's figures are compared with (same run, same rounds). */
export const REFERENCE: Readonly<Partial<Record<ServerName, ServerName>>> = {
  ours: 'nginx-rtmp',
  ingest: 'nginx-rtmp',
  'node-media-server': 'nginx-rtmp',
  'ingest-record': 'nginx-rtmp-record',
  'floor-read': 'nginx-rtmp',
  'floor-decode': 'nginx-rtmp',
  'floor-fanout': 'nginx-rtmp',
  'floor-fanout-nagle': 'nginx-rtmp',
  'ours-base': 'nginx-rtmp',
  'ingest-base': 'nginx-rtmp',
};

/** How each server is named in tables. */
export const SERVER_LABELS: Readonly<Record<ServerName, string>> = {
  ours: 'ours, bare server',
  ingest: 'apps/ingest',
  'nginx-rtmp': 'nginx-rtmp',
  'node-media-server': 'node-media-server',
  'ingest-record': 'apps/ingest --record-dir',
  'nginx-rtmp-record': 'nginx-rtmp record all',
  'floor-read': 'floor: Node reads the socket (shared buffer), drops the bytes',
  'floor-decode': 'floor: Node reads and chunk-decodes (copies), drops the messages',
  'floor-fanout': 'floor: Node decodes once, writes each read to every player',
  'floor-fanout-nagle': 'floor, Nagle on for players (as nginx-rtmp)',
  'ours-base': 'baseline: bare server',
  'ingest-base': 'baseline: apps/ingest',
};

/** A server running in its own process on 127.0.0.1. */
export interface RunningServer {
  name: ServerName;
  /** The process whose CPU time and RSS are measured. */
  pid: number;
  port: number;
  /** `rtmp://127.0.0.1:<port>/live`. */
  url: string;
  /** Where it records (the recording servers), emptied by the harness after each measured ingest. */
  recordDir?: string;
  /** Stops the server, waits for its exit and removes its temp dir. */
  stop(): Promise<void>;
  /** What the server printed (for failure messages). */
  log(): string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const benchRoot = path.resolve(here, '..');
const repoRoot = path.resolve(benchRoot, '..');
/** The built ingest app, as `pnpm start` runs it. */
export const INGEST_CLI = path.join(repoRoot, 'apps/ingest/dist/cli.js');

/**
 * Node flags for our server processes: RTMP_BENCH_CPU_PROF=<dir> profiles them (`node --cpu-prof`, one file per
 * process, named after its pid), RTMP_BENCH_OURS_NODE_ARGS="--flag ..." adds Node/V8 flags (tuning experiments).
 */
function nodeArgs(baseline = false): string[] {
  const profile = process.env.RTMP_BENCH_CPU_PROF;
  const args = profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profile)}`] : [];
  args.push(...(process.env.RTMP_BENCH_OURS_NODE_ARGS ?? '').split(/\s+/).filter(Boolean));
  if (baseline) args.push(...(process.env.RTMP_BENCH_BASE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean));
  return args;
}

async function supervise(
  name: ServerName,
  child: ChildProcess,
  port: number,
  dir: string,
): Promise<RunningServer> {
  const server: RunningServer = { name, ...(await superviseServer(child, { port, name, dir })) };
  if (process.env.RTMP_BENCH_CPU_PROF) console.log(`  ${name}: pid ${server.pid} (CPU profile on exit)`);
  return server;
}

/**
 * One of this folder's server scripts (src/servers/<script>) in a child Node process on a free port: `node
 * <script> <port> [mode]`, which prints `ready <port>` once listening.
 */
async function startScript(name: ServerName, script: string, mode?: string): Promise<RunningServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), `rtmp-bench-${name}-`));
  const args = [...nodeArgs(), path.join(here, 'servers', script), String(port)];
  if (mode !== undefined) args.push(mode);
  const child = spawn(process.execPath, args, {
    cwd: benchRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  return supervise(name, child, port, dir);
}

/** Ours: `RtmpServer` + `LiveRelay` in a child Node process (src/servers/ours.mjs). */
function startOurs(): Promise<RunningServer> {
  return startScript('ours', 'ours.mjs');
}

/**
 * apps/ingest exactly as its README starts it (`node apps/ingest/dist/cli.js` from the repository root, default
 * flags), with only the ports chosen free; `record` adds `--record-dir <temp dir>`. Its log goes to a pipe, so it
 * is pino's JSON, as under a process manager.
 */
async function startIngest(name: 'ingest' | 'ingest-record'): Promise<RunningServer> {
  if (!existsSync(INGEST_CLI)) throw new Error(`${INGEST_CLI} is missing: run pnpm turbo run build first`);
  const port = await freePort();
  const httpPort = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), `rtmp-bench-${name}-`));
  const args = ['--port', String(port), '--http-port', String(httpPort)];
  const recordDir = path.join(dir, 'recordings');
  if (name === 'ingest-record') args.push('--record-dir', recordDir);
  const child = spawn(process.execPath, [...nodeArgs(), INGEST_CLI, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = await supervise(name, child, port, dir);
  return name === 'ingest-record' ? { ...server, recordDir } : server;
}

/** The floor of a Node ingest server (src/servers/floor.mjs, mode `read` or `decode`). */
function startFloor(name: 'floor-read' | 'floor-decode'): Promise<RunningServer> {
  return startScript(name, 'floor.mjs', name === 'floor-read' ? 'read' : 'decode');
}

/**
 * The floor of a Node fan-out server (src/servers/floor-fanout.mjs): our server admits the publisher and the players,
 * then relays with only the reads, the decode, one encoding per message and one write per player per read.
 */
function startFanoutFloor(name: 'floor-fanout' | 'floor-fanout-nagle'): Promise<RunningServer> {
  return startScript(name, 'floor-fanout.mjs', name === 'floor-fanout' ? 'nodelay' : 'nagle');
}

/** The checkout given with `--baseline` (run.ts puts it in RTMP_BENCH_BASELINE), built. */
function baselineDir(): string {
  const dir = process.env.RTMP_BENCH_BASELINE;
  if (!dir) throw new Error('the baseline servers need --baseline=DIR (a built checkout of another commit)');
  return path.resolve(dir);
}

/** The bare server or apps/ingest of the baseline checkout, started as ours and ingest are. */
async function startBaseline(name: 'ours-base' | 'ingest-base'): Promise<RunningServer> {
  const root = baselineDir();
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), `rtmp-bench-${name}-`));
  const child =
    name === 'ours-base'
      ? spawn(
          process.execPath,
          [...nodeArgs(true), path.join(root, 'bench/src/servers/ours.mjs'), String(port)],
          {
            cwd: path.join(root, 'bench'),
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, NODE_ENV: 'production' },
          },
        )
      : spawn(
          process.execPath,
          [
            ...nodeArgs(true),
            path.join(root, 'apps/ingest/dist/cli.js'),
            '--port',
            String(port),
            '--http-port',
            String(await freePort()),
          ],
          { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
        );
  return supervise(name, child, port, dir);
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
 * the one doing the work; sized for thousands of players. `record` adds `record all; record_path <temp dir>;` to
 * the application (every stream recorded to `<dir>/<stream>.flv`, audio, video and metadata).
 */
async function startNginx(record: boolean): Promise<RunningServer> {
  const recordDir = record ? mkdtempSync(path.join(tmpdir(), 'rtmp-bench-nginx-record-')) : undefined;
  const nginx = await startNginxRtmp({
    logLevel: 'warn',
    workerConnections: 4096,
    rlimitNofile: 8192,
    ...(recordDir === undefined ? {} : { extraApplication: `record all;\n      record_path ${recordDir};` }),
  });
  const server: RunningServer = {
    name: record ? 'nginx-rtmp-record' : 'nginx-rtmp',
    pid: nginx.pid,
    port: nginx.port,
    url: nginx.url,
    stop: async () => {
      await nginx.stop();
      if (recordDir !== undefined) rmSync(recordDir, { recursive: true, force: true });
    },
    log: nginx.log,
  };
  return recordDir === undefined ? server : { ...server, recordDir };
}

/** Starts one server on a free port of 127.0.0.1. */
export function startServer(name: ServerName): Promise<RunningServer> {
  switch (name) {
    case 'ours':
      return startOurs();
    case 'ingest':
    case 'ingest-record':
      return startIngest(name);
    case 'nginx-rtmp':
      return startNginx(false);
    case 'nginx-rtmp-record':
      return startNginx(true);
    case 'node-media-server':
      return startNms();
    case 'floor-read':
    case 'floor-decode':
      return startFloor(name);
    case 'floor-fanout':
    case 'floor-fanout-nagle':
      return startFanoutFloor(name);
    case 'ours-base':
    case 'ingest-base':
      return startBaseline(name);
  }
}
