import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DemuxEvent, FlvReader, StreamDemuxer } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The shared fixtures folder: a sibling of the repository root, or RTMP_FIXTURES. */
export const FIXTURES = process.env.RTMP_FIXTURES ?? path.resolve(here, '../../../../shared/fixtures');

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(FIXTURES, name)));
}

export function readCsv(name: string): string[][] {
  return readFileSync(path.join(FIXTURES, name), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
}

/** Demuxes a whole FLV file, optionally fed in chunks of `split` bytes. */
export function demuxFile(
  bytes: Uint8Array,
  split = bytes.length,
): { events: DemuxEvent[]; demuxer: StreamDemuxer } {
  const reader = new FlvReader();
  const demuxer = new StreamDemuxer();
  const events: DemuxEvent[] = [];
  for (let i = 0; i < bytes.length; i += split) {
    for (const tag of reader.push(bytes.subarray(i, i + split))) {
      events.push(...demuxer.push(tag.type, tag.timestamp, tag.body));
    }
  }
  return { events, demuxer };
}

export function hex(s: string): Uint8Array {
  const clean = s.replace(/[^0-9a-fA-F]/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

/** Whether a command-line tool is available; under CI=true a missing tool fails the calling test. */
export function haveTool(tool: string): boolean {
  try {
    execFileSync(tool, ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error(`${tool} is required under CI=true but is not installed`);
    console.warn(`\n*** WARNING: ${tool} not found: skipping the tests that need it ***\n`);
    return false;
  }
}

/** avcC of small_h264_aac.flv (High, 320x240, 4-byte NAL lengths). */
export const AVCC = hex(
  '0164000dffe100196764000dacd94141fb011000000300100000030320f142996001000468efbcb0fdf8f800',
);
/** A minimal hvcC: Main, level 3.1, 4:2:0 8-bit, 4-byte NAL lengths, no arrays. */
export const HVCC = hex('01 01 60000000 900000000000 5d f000 fc fd f8 f8 0000 0f 00');
