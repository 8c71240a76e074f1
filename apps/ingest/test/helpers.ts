import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The shared fixtures folder (a sibling of the repo root), or RTMP_FIXTURES. */
export const FIXTURES = process.env.RTMP_FIXTURES ?? resolve(here, '../../../../shared/fixtures');

/** apps/ingest. */
export const APP_DIR = resolve(here, '..');

/** The built CLI, as a user runs it. */
export const CLI = resolve(APP_DIR, 'dist/cli.js');

/**
 * Whether an external tool is installed. Missing: loud warning and skip, except under CI=true where a missing
 * tool is a failure (the caller's test then fails on the assertion below).
 */
export function haveTool(name: string, args: string[] = ['-version']): boolean {
  const r = spawnSync(name, args, { stdio: 'ignore' });
  const ok = r.error === undefined;
  if (!ok) {
    if (process.env.CI === 'true') throw new Error(`required tool "${name}" is missing (CI=true)`);
    console.warn(`\n!!!!!!!! WARNING: "${name}" not found: real-peer tests using it are SKIPPED !!!!!!!!\n`);
  }
  return ok;
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

/** Parses an FLV file into tags (test helper; deliberately independent of the code under test). */
export function parseFlv(buf: Buffer): { type: number; timestamp: number; body: Buffer }[] {
  const tags: { type: number; timestamp: number; body: Buffer }[] = [];
  let off = buf.readUInt32BE(5) + 4;
  while (off + 11 <= buf.length) {
    const type = buf[off]!;
    const size = buf.readUIntBE(off + 1, 3);
    const timestamp = buf.readUIntBE(off + 4, 3) | (buf[off + 7]! << 24);
    if (off + 11 + size + 4 > buf.length) break;
    tags.push({ type, timestamp, body: buf.subarray(off + 11, off + 11 + size) });
    off += 11 + size + 4;
  }
  return tags;
}

/** ffprobe frame counts per stream type of a file. */
export function probeFrames(file: string): { video: number; audio: number; ok: boolean; stderr: string } {
  const r = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=codec_type,nb_read_frames',
      '-of',
      'json',
      file,
    ],
    { encoding: 'utf8' },
  );
  let video = 0;
  let audio = 0;
  try {
    const j = JSON.parse(r.stdout) as { streams?: { codec_type: string; nb_read_frames: string }[] };
    for (const s of j.streams ?? []) {
      if (s.codec_type === 'video') video = Number(s.nb_read_frames);
      if (s.codec_type === 'audio') audio = Number(s.nb_read_frames);
    }
  } catch {
    // reported through ok=false
  }
  return { video, audio, ok: r.status === 0 && r.stderr.trim() === '', stderr: r.stderr };
}

/** A running instance of the built app. */
export interface RunningApp {
  proc: ChildProcess;
  rtmpPort: number;
  httpPort: number;
  /** `rtmp://127.0.0.1:<port>/live`. */
  url: string;
  /** JSON log lines seen so far. */
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  api: () => Promise<{ streams: Record<string, unknown>[] }>;
  stop: () => Promise<void>;
}

/** Starts `node dist/cli.js` as a user would, on free ports, and waits until /healthz answers. */
export async function startApp(extra: string[] = []): Promise<RunningApp> {
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const proc = spawn(
    process.execPath,
    [CLI, '--port', String(rtmpPort), '--http-port', String(httpPort), '--host', '127.0.0.1', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Record<string, unknown>[] = [];
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.once('exit', (code, signal) => res({ code, signal })),
  );
  const base = `http://127.0.0.1:${httpPort}`;
  let done = false;
  void exited.then(() => {
    done = true;
  });
  for (let i = 0; ; i++) {
    if (done) throw new Error(`app exited early: ${err}\n${JSON.stringify(logs)}`);
    try {
      if ((await fetch(`${base}/healthz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 200) throw new Error('app did not start');
    await sleep(50);
  }
  return {
    proc,
    rtmpPort,
    httpPort,
    url: `rtmp://127.0.0.1:${rtmpPort}/live`,
    logs,
    stderr: () => err,
    exited,
    api: async () =>
      (await (await fetch(`${base}/api/streams`)).json()) as { streams: Record<string, unknown>[] },
    stop: async () => {
      if (!done) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Result of {@link run}. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a tool to completion, killing it after `timeoutMs`. */
export function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
): { proc: ChildProcess; done: Promise<RunResult> } {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  proc.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);
  const done = new Promise<RunResult>((res) =>
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, timedOut });
    }),
  );
  return { proc, done };
}

/** Polls `check` until it returns a value other than undefined. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(100);
  }
}

/** The FFmpeg arguments publishing a generated 320x240 25 fps H.264 + AAC pattern for `seconds`. */
export function ffmpegPublishArgs(url: string, seconds: number): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-re',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=25',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440',
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-g',
    '25',
    '-c:a',
    'aac',
    '-f',
    'flv',
    url,
  ];
}
