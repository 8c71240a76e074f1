import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** The argument that makes each known tool print something and exit (some reject `-version`). */
function defaultProbeArgs(tool: string): string[] {
  if (tool === 'rtmpdump') return ['--help'];
  if (tool === 'nginx') return ['-v'];
  if (tool === 'openssl') return ['version'];
  return ['-version'];
}

const available = new Map<string, boolean>();

/**
 * Whether `tool` can be started, silently (no CI rule). A non-zero exit still counts as present: `rtmpdump -h`
 * exits 1. Cached per tool.
 */
export function toolAvailable(tool: string, probeArgs: readonly string[] = defaultProbeArgs(tool)): boolean {
  let ok = available.get(tool);
  if (ok === undefined) {
    ok = spawnSync(tool, probeArgs, { stdio: 'ignore', timeout: 10_000 }).error === undefined;
    available.set(tool, ok);
  }
  return ok;
}

const warned = new Set<string>();

/**
 * Whether a real tool (ffmpeg, ffprobe, rtmpdump, nginx, openssl...) is installed, for `it.skipIf(!hasTool(x))`.
 * Missing: under `CI=true` this throws, so a CI run without the tool fails instead of passing by skipping;
 * otherwise it prints a loud warning (once per tool) and returns false.
 */
export function hasTool(tool: string, probeArgs?: readonly string[]): boolean {
  if (toolAvailable(tool, probeArgs)) return true;
  missing(tool);
  return false;
}

/** Applies the CI rule to something required that was not found: throws under `CI=true`, else warns loudly once. */
export function missing(what: string): void {
  if (process.env.CI === 'true') throw new Error(`${what} is required under CI=true but was not found`);
  if (warned.has(what)) return;
  warned.add(what);
  console.warn(`\n!!!!! ${what} not found: tests that need it are SKIPPED !!!!!\n`);
}

let ffmpegEncoders: string | undefined;

/**
 * Whether FFmpeg is installed with the encoder `name` (`libx264`, `libx265`, `libopus`...), for
 * `it.skipIf(!hasFfmpegEncoder(x))`. The same rule as {@link hasTool}: a missing FFmpeg or a missing encoder is a loud
 * warning and `false` locally, and an error under `CI=true`, so a CI run without the encoder fails instead of skipping.
 */
export function hasFfmpegEncoder(name: string): boolean {
  if (!hasTool('ffmpeg')) return false;
  ffmpegEncoders ??= spawnSync('ffmpeg', ['-hide_banner', '-encoders'], {
    encoding: 'utf8',
    timeout: 30_000,
  }).stdout;
  // One encoder per line: ` V....D libx264   libx264 H.264 / AVC ...`; the name is the second field.
  const listed = ffmpegEncoders.split('\n').some((line) => line.trim().split(/\s+/)[1] === name);
  if (!listed) missing(`the FFmpeg encoder ${name}`);
  return listed;
}

/** How a process started by {@link run} ended. */
export interface RunResult {
  /** Exit code; -1 when the process could not be started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether {@link run} killed it at its timeout. */
  timedOut: boolean;
}

/** A process started by {@link run} and the promise of its result. */
export interface Running {
  child: ChildProcess;
  done: Promise<RunResult>;
}

/**
 * Spawns `command` with stdout/stderr collected and SIGKILLs it after `timeoutMs`, so a hung tool cannot hang the
 * suite. `done` never rejects: a spawn failure resolves with code -1 and the error in `stderr`.
 */
export function run(
  command: string,
  args: readonly string[],
  timeoutMs = 30_000,
  env?: NodeJS.ProcessEnv,
): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const done = new Promise<RunResult>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, signal: null, stdout, stderr: stderr + String(error), timedOut });
    });
  });
  return { child, done };
}

/** `ffmpeg` publishing `file` to `url` with stream copy (`-re` when `realtime`; `extra` goes before `-i`). */
export function ffmpegPublish(
  file: string,
  url: string,
  options: { realtime?: boolean; extra?: readonly string[]; timeoutMs?: number } = {},
): Running {
  const args = ['-hide_banner', '-loglevel', 'info', '-nostdin'];
  if (options.realtime) args.push('-re');
  args.push(...(options.extra ?? []), '-i', file, '-c', 'copy', '-f', 'flv', url);
  return run('ffmpeg', args, options.timeoutMs);
}

/** `ffmpeg` playing `url` into the FLV file `out` with stream copy, until the stream ends (or the timeout, 30 s). */
export function ffmpegPlay(url: string, out: string, timeoutMs?: number): Running {
  return run(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-y', '-i', url, '-c', 'copy', '-f', 'flv', out],
    timeoutMs,
  );
}

/**
 * FFmpeg arguments that publish a generated pattern (testsrc 320x240 25 fps H.264, GOP 1 s, + a 440 Hz AAC sine)
 * for `seconds` in real time to `url`.
 */
export function ffmpegTestPatternArgs(url: string, seconds: number): string[] {
  return [
    ...['-hide_banner', '-nostdin', '-re'],
    ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440'],
    ...['-t', String(seconds)],
    ...['-c:v', 'libx264', '-g', '25', '-c:a', 'aac', '-f', 'flv', url],
  ];
}

/** Number of open file descriptors of this process (Linux `/proc/self/fd`), or -1 where that is not available. */
export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

function newestMtime(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return latest;
}

/**
 * Runs `pnpm run build` in `packageDir` when `output` (relative to it, e.g. `dist/cli.js`) is missing or older than
 * any file under its `src/`: for vitest global setups of apps whose tests run the built CLI, so `vitest` alone works.
 */
export function buildIfStale(packageDir: string, output: string): void {
  const built = path.join(packageDir, output);
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(path.join(packageDir, 'src'))) return;
  execFileSync('pnpm', ['run', 'build'], { cwd: packageDir, stdio: 'inherit' });
}

/**
 * The GStreamer elements the interop tests use: its own RTMP client (rtmp2, gst-plugins-bad), its librtmp-based sink
 * (rtmpsink, same package: librtmp publishing, as OBS's RTMP output, a librtmp fork, does) and FLV (de)muxing.
 */
const GSTREAMER_ELEMENTS = [
  'rtmp2sink',
  'rtmp2src',
  'rtmpsink',
  'flvdemux',
  'flvmux',
  'h264parse',
  'aacparse',
  'filesink',
];
let gstreamer: boolean | undefined;

/**
 * Whether GStreamer with its RTMP implementation (`rtmp2sink`/`rtmp2src`, written apart from librtmp and FFmpeg) is
 * installed, with the CI rule of {@link hasTool}. Debian: `apt-get install gstreamer1.0-tools
 * gstreamer1.0-plugins-good gstreamer1.0-plugins-bad`.
 */
export function hasGstreamerRtmp(): boolean {
  gstreamer ??=
    toolAvailable('gst-launch-1.0', ['--version']) &&
    // A generous timeout: the first GStreamer command on a fresh machine builds the plugin registry.
    GSTREAMER_ELEMENTS.every(
      (element) =>
        spawnSync('gst-inspect-1.0', ['--exists', element], { stdio: 'ignore', timeout: 60_000 }).status ===
        0,
    );
  if (!gstreamer) missing(`GStreamer with ${GSTREAMER_ELEMENTS.join(', ')}`);
  return gstreamer;
}

/**
 * `gst-launch-1.0` remuxing the FLV `file` (H.264 + AAC) into `sink`: `'rtmp2sink'` publishes to the URL `location`
 * with GStreamer's RTMP client, `'rtmpsink'` with librtmp, `'filesink'` writes to the file `location` the FLV it would have sent. `realtime`
 * paces it by timestamps (the sink syncs to the clock). `sinkProperties` are more `name=value` settings of the sink
 * (e.g. `tls-validation-flags=0` to accept a self-signed certificate over `rtmps://`).
 */
export function gstreamerRemux(
  file: string,
  sink: 'rtmp2sink' | 'rtmpsink' | 'filesink',
  location: string,
  options: { realtime?: boolean; timeoutMs?: number; sinkProperties?: readonly string[] } = {},
): Running {
  const pipeline = [
    ...['filesrc', `location=${file}`, '!', 'flvdemux', 'name=d'],
    ...['d.video', '!', 'queue', '!', 'h264parse', '!', 'flvmux', 'name=m', 'streamable=true'],
    ...[
      '!',
      sink,
      `location=${location}`,
      `sync=${options.realtime === true}`,
      ...(options.sinkProperties ?? []),
    ],
    ...['d.audio', '!', 'queue', '!', 'aacparse', '!', 'm.'],
  ];
  return run('gst-launch-1.0', ['-q', ...pipeline], options.timeoutMs);
}

/**
 * `gst-launch-1.0` playing `url` with GStreamer's RTMP client (`rtmp2src`) into the FLV file `out`, until end of
 * stream. `sourceProperties` are more `name=value` settings of `rtmp2src` (e.g. `tls-validation-flags=0`).
 */
export function gstreamerPlay(
  url: string,
  out: string,
  options: { timeoutMs?: number; sourceProperties?: readonly string[] } = {},
): Running {
  const source = ['rtmp2src', `location=${url}`, ...(options.sourceProperties ?? [])];
  return run(
    'gst-launch-1.0',
    ['-q', ...source, '!', 'filesink', `location=${out}`],
    options.timeoutMs ?? 30_000,
  );
}

/**
 * What the file of an `rtmp2src` player must hold when the server sent `expected`: all of it, or all but the very
 * last packet. rtmp2src hands messages to its pipeline through a one-message slot, and on StreamEOF its connection
 * task clears that slot when it exits, racing the pipeline for the last message (gstrtmp2src.c, GStreamer 1.22).
 * FFmpeg, given the same bytes, keeps it. Compare with `expect(played).toEqual(rtmp2srcExpected(played, expected))`.
 */
export function rtmp2srcExpected<T>(played: readonly T[], expected: readonly T[]): readonly T[] {
  return played.length === expected.length - 1 ? expected.slice(0, -1) : expected;
}
