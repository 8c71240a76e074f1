import { spawnSync } from 'node:child_process';
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
