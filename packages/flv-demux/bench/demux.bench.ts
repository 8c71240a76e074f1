/**
 * Demux throughput for a 6 Mbps H.264 + AAC stream: this package (FlvReader + StreamDemuxer, NAL units split as
 * views) beside node-media-server 4.4.3's FLV parser (src/protocol/flv.js), which frames tags and reads the
 * header fields but does not split NAL units.
 *
 * Run: node --import tsx bench/demux.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlvReader, StreamDemuxer } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECONDS = 20;
const file = path.join(tmpdir(), `flv-demux-bench-6mbps-${SECONDS}s.flv`);

if (!existsSync(file)) {
  console.log(`generating ${file} with ffmpeg (1280x720 30 fps, libx264 6 Mbps CBR + AAC 128 kbps)...`);
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440'],
    ...['-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '6M', '-minrate', '6M'],
    ...['-maxrate', '6M', '-bufsize', '3M', '-x264-params', 'nal-hrd=cbr:filler=0', '-g', '60'],
    ...['-c:a', 'aac', '-b:a', '128k', file],
  ]);
}
const bytes = new Uint8Array(readFileSync(file));
const CHUNK = 64 * 1024;

function ours(): number {
  const reader = new FlvReader();
  const demuxer = new StreamDemuxer();
  let samples = 0;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    for (const tag of reader.push(bytes.subarray(i, i + CHUNK))) {
      for (const e of demuxer.push(tag.type, tag.timestamp, tag.body)) {
        if (e.kind === 'video' || e.kind === 'audio') samples++;
      }
    }
  }
  return samples;
}

const tags = new FlvReader().push(bytes);
function oursDemuxOnly(): number {
  const demuxer = new StreamDemuxer();
  let samples = 0;
  for (const tag of tags) {
    for (const e of demuxer.push(tag.type, tag.timestamp, tag.body)) {
      if (e.kind === 'video' || e.kind === 'audio') samples++;
    }
  }
  return samples;
}

const require = createRequire(path.join(here, '../package.json'));
const Flv = require('node-media-server/src/protocol/flv.js');
const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
function nms(): number {
  const flv = new Flv();
  let samples = 0;
  flv.onPacketCallback = (p: { codec_type: number; flags: number }) => {
    if ((p.codec_type === 9 && (p.flags === 3 || p.flags === 4)) || (p.codec_type === 8 && p.flags === 1))
      samples++;
  };
  for (let i = 0; i < buf.length; i += CHUNK) {
    const err = flv.parserData(buf.subarray(i, i + CHUNK));
    if (err) throw new Error(err);
  }
  return samples;
}

/** Runs the contenders in interleaved rounds so a busy machine slows them alike; reports medians. */
function measure(contenders: [string, () => number][]): void {
  for (const [, fn] of contenders) for (let i = 0; i < 3; i++) fn();
  const runs = contenders.map(() => [] as number[]);
  const samples = contenders.map(() => 0);
  for (let round = 0; round < 21; round++) {
    contenders.forEach(([, fn], k) => {
      const t0 = process.hrtime.bigint();
      samples[k] = fn();
      runs[k]!.push(Number(process.hrtime.bigint() - t0) / 1e9);
    });
  }
  contenders.forEach(([name], k) => {
    const r = runs[k]!.sort((a, b) => a - b);
    const median = r[Math.floor(r.length / 2)]!;
    const mb = bytes.length / 1e6;
    console.log(
      `${name.padEnd(44)} ${(samples[k]! / median).toFixed(0).padStart(10)} samples/s ${(mb / median)
        .toFixed(0)
        .padStart(7)} MB/s  (${samples[k]} samples, median of ${r.length} interleaved rounds)`,
    );
  });
}

console.log(
  `input: ${(bytes.length / 1e6).toFixed(1)} MB, ${SECONDS} s, ${((bytes.length * 8) / SECONDS / 1e6).toFixed(2)} Mbit/s, ` +
    `${tags.length} tags, read in ${CHUNK / 1024} KiB chunks; node ${process.version}`,
);
measure([
  ['@rtmp/flv-demux FlvReader + StreamDemuxer', ours],
  ['@rtmp/flv-demux StreamDemuxer (tags only)', oursDemuxOnly],
  ['node-media-server 4.4.3 Flv.parserData', nms],
]);
