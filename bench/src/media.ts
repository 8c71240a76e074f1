import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
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
