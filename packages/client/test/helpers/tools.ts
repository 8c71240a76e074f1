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
 * Whether `tool` runs. When it does not: under CI=true this throws (a missing tool fails the run), otherwise it
 * prints a loud warning and the caller skips.
 */
export function hasTool(tool: string, probeArgs: string[] = ['-version']): boolean {
  let ok = found.get(tool);
  if (ok === undefined) {
    const probe = spawnSync(tool, probeArgs, { stdio: 'ignore' });
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

/** A spawned process with its result promise; killed when `timeoutMs` elapses. */
export interface Running {
  child: ChildProcess;
  done: Promise<RunResult>;
}

export function run(command: string, args: string[], timeoutMs = 30_000, env?: NodeJS.ProcessEnv): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
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
    .filter((line) => /^(video|audio),/.test(line))
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

/** ffprobe's packets of a file. */
export async function probePackets(
  file: string,
): Promise<{ codec_type: string; size: number; flags: string }[]> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'packet=codec_type,size,flags',
    '-of',
    'json',
    file,
  ]).done;
  const packets = (
    JSON.parse(stdout || '{"packets":[]}') as {
      packets: { codec_type: string; size: string; flags: string }[];
    }
  ).packets;
  return packets.map((p) => ({ codec_type: p.codec_type, size: Number(p.size), flags: p.flags }));
}

/** Polls `predicate` until true, failing after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
