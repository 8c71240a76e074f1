import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared fixtures folder: $RTMP_FIXTURES, or `shared/fixtures` beside the repository root. */
export const FIXTURES =
  process.env.RTMP_FIXTURES ??
  path.resolve(fileURLToPath(import.meta.url), '../../../../../../shared/fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

const found = new Map<string, boolean>();

/**
 * Whether `tool` can run. When it cannot: under CI=true this throws (a missing tool fails the run),
 * otherwise it prints a loud warning and the caller skips.
 */
export function hasTool(tool: string): boolean {
  let ok = found.get(tool);
  if (ok === undefined) {
    const probe = spawnSync(tool, tool === 'rtmpdump' ? ['--help'] : ['-version'], { stdio: 'ignore' });
    ok = probe.error === undefined;
    found.set(tool, ok);
    if (!ok) {
      if (process.env.CI === 'true') throw new Error(`${tool} is required under CI=true but was not found`);
      console.warn(`\n!!!!! ${tool} not found: tests that need it are SKIPPED !!!!!\n`);
    }
  }
  return ok;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
}

/** A spawned tool with its result promise; killed when `timeoutMs` elapses. */
export interface Running {
  child: ChildProcess;
  done: Promise<RunResult>;
}

export function run(command: string, args: string[], timeoutMs = 20_000): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, stdout });
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, signal: null, stderr: String(error), stdout });
    });
  });
  return { child, done };
}

/** `ffmpeg` publishing a file to `url` with stream copy. */
export function ffmpegPublish(
  file: string,
  url: string,
  options: { realtime?: boolean; extra?: string[] } = {},
): Running {
  const args = ['-hide_banner', '-loglevel', 'info', '-nostdin'];
  if (options.realtime) args.push('-re');
  args.push(...(options.extra ?? []), '-i', file, '-c', 'copy', '-f', 'flv', url);
  return run('ffmpeg', args);
}

/** One line of a `.packets.csv` oracle (ffprobe packet dump). */
export interface OraclePacket {
  type: 'video' | 'audio';
  pts: number;
  dts: number;
  size: number;
  keyframe: boolean;
}

export function readOracle(name: string): OraclePacket[] {
  return readFileSync(fixture(name), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [type, , pts, dts, size, flags] = line.split(',');
      return {
        type: type as 'video' | 'audio',
        pts: Number(pts),
        dts: Number(dts),
        size: Number(size),
        keyframe: (flags ?? '').startsWith('K'),
      };
    });
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  nb_read_frames?: string;
  nb_read_packets?: string;
}

/** ffprobe's streams of a file, counting packets. */
export async function probe(file: string): Promise<ProbedStream[]> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-count_packets',
    '-show_entries',
    'stream=codec_type,codec_name,nb_read_packets',
    '-of',
    'json',
    file,
  ]).done;
  return (JSON.parse(stdout || '{"streams":[]}') as { streams: ProbedStream[] }).streams;
}

/** ffprobe's packets (type, pts, flags) of a file. */
export async function probePackets(
  file: string,
): Promise<{ codec_type: string; pts: number; flags: string }[]> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'packet=codec_type,pts,flags',
    '-of',
    'json',
    file,
  ]).done;
  return (
    JSON.parse(stdout || '{"packets":[]}') as {
      packets: { codec_type: string; pts: number; flags: string }[];
    }
  ).packets;
}

/** Waits until `predicate` holds, polling every 10 ms, or throws after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
