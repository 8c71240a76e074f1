import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Where generated media is cached between runs (`RTMP_BENCH_CACHE` overrides). */
export const cacheDir = process.env.RTMP_BENCH_CACHE ?? path.resolve(here, '../.cache');

/**
 * The FFmpeg arguments that make a benchmark source: 60 s of 720p30 H.264 at `bitrate` (GOP 2 s) + AAC. The
 * ingest bench uses 3M as issue 8 asks.
 */
export function sourceArgs(bitrate: string): string[] {
  return [
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=1280x720:rate=30',
    '-f',
    'lavfi',
    '-i',
    'sine',
    '-t',
    '60',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    bitrate,
    '-g',
    '60',
    '-c:a',
    'aac',
    '-f',
    'flv',
  ];
}

/** Generates a source file once (a minute or more of CPU on a small machine) and returns its path. */
export function sourceFile(bitrate = '3M'): string {
  const file = path.join(cacheDir, `testsrc2-720p30-${bitrate}-aac-60s.flv`);
  if (existsSync(file) && statSync(file).size > 1_000_000) return file;
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${file}.partial`;
  console.log(`generating ${file} (once)...`);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...sourceArgs(bitrate), partial], {
    stdio: 'inherit',
  });
  renameSync(partial, file);
  return file;
}

/** A source for the ingest bench: the file, its size and its duration in seconds. */
export interface IngestSource {
  file: string;
  bytes: number;
  seconds: number;
  /** How many copies of the 60 s file it is made of. */
  copies: number;
}

function ffprobeLines(args: readonly string[]): string[] {
  return execFileSync('ffprobe', ['-v', 'error', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** Largest gap between consecutive DTS of one stream that still counts as continuous (30 fps video: 33 ms). */
const MAX_DTS_GAP = 0.5;

/**
 * Checks with ffprobe that every stream's DTS never goes back nor jumps, so a concatenated file plays as one
 * continuous stream (a server or FFmpeg meeting a jump could drop or pace data and skew the figures). Returns
 * the duration in seconds.
 */
export function checkContinuous(file: string, expectedSeconds: number): number {
  for (const stream of ['v', 'a']) {
    const dts = ffprobeLines([
      '-select_streams',
      stream,
      '-show_entries',
      'packet=dts_time',
      '-of',
      'csv=p=0',
      file,
    ]).map(Number);
    for (let i = 1; i < dts.length; i++) {
      const gap = (dts[i] as number) - (dts[i - 1] as number);
      if (!(gap >= 0 && gap <= MAX_DTS_GAP)) {
        throw new Error(`${file}: ${stream} DTS ${dts[i - 1]} -> ${dts[i]} at packet ${i} is not continuous`);
      }
    }
  }
  const seconds = Number(ffprobeLines(['-show_entries', 'format=duration', '-of', 'csv=p=0', file])[0]);
  if (!(Math.abs(seconds - expectedSeconds) <= 2)) {
    throw new Error(`${file}: duration ${seconds} s, expected about ${expectedSeconds} s`);
  }
  return seconds;
}

/**
 * The ingest source: `copies` copies of the 60 s file at `bitrate` joined once with FFmpeg's concat demuxer
 * (`-c copy`, timestamps continued across the joins, checked by {@link checkContinuous}) into the cache. Long
 * enough that one ingest costs hundreds of 10 ms CPU ticks even on nginx, so tick rounding does not matter.
 */
export function ingestSource(bitrate: string, copies: number): IngestSource {
  const base = sourceFile(bitrate);
  if (copies <= 1) {
    return { file: base, bytes: statSync(base).size, seconds: checkContinuous(base, 60), copies: 1 };
  }
  const file = base.replace(/-60s\.flv$/, `-60s-x${copies}.flv`);
  if (!(existsSync(file) && statSync(file).size > copies * statSync(base).size * 0.99)) {
    const partial = `${file}.partial`;
    const list = `${file}.list.txt`;
    // The concat demuxer's list syntax: one `file '<path>'` line per copy (the cache path has no quotes).
    writeFileSync(list, `${Array.from({ length: copies }, () => `file '${base}'`).join('\n')}\n`);
    console.log(`joining ${copies} x ${path.basename(base)} into ${path.basename(file)} (once)...`);
    execFileSync(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'concat',
        '-safe',
        '0',
        '-i',
        list,
        '-c',
        'copy',
        '-f',
        'flv',
        partial,
      ],
      { stdio: 'inherit' },
    );
    rmSync(list);
    try {
      checkContinuous(partial, copies * 60);
    } catch (error) {
      rmSync(partial);
      throw error;
    }
    renameSync(partial, file);
  }
  return { file, bytes: statSync(file).size, seconds: checkContinuous(file, copies * 60), copies };
}
