/**
 * Fragmented MP4 muxing: this package's CmafWriter beside mediabunny 1.61 (its fragmented MP4 output) and
 * mp4-muxer 5.2 (`fastStart: 'fragmented'`), muxing the same H.264 + AAC samples (a 6 Mbps 720p30 stream made by
 * FFmpeg, repeated with shifted timestamps) into one fragment per GOP. Prints CPU seconds per GB of media muxed
 * and, with --check, how many samples of small_h264_aac.flv each output gives back to ffprobe exactly as the
 * .packets.csv oracle lists them, and whether FFmpeg decodes it without an error.
 *
 * Run: node --import tsx bench/cmaf.bench.ts [--check] [--mb 512]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type DemuxEvent, FlvReader, StreamDemuxer } from '@rtmp/flv-demux';
import { readFixture, readOracle } from '@rtmp/testing';
import {
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedVideoPacketSource,
  Mp4OutputFormat,
  Output,
  StreamTarget,
} from 'mediabunny';
import { StreamTarget as Mp4MuxerStreamTarget, Muxer } from 'mp4-muxer';
import { CmafWriter, concatChunks } from '../src/index.js';

const args = process.argv.slice(2);
const CHECK = args.includes('--check');
const mbArg = args.indexOf('--mb');
const TARGET_BYTES = (mbArg >= 0 ? Number(args[mbArg + 1]) : 512) * 1024 * 1024;
const SECONDS = 20;

// ---- input: demuxer events, and the same samples as ready-made buffers for the libraries ----

function demux(bytes: Uint8Array): DemuxEvent[] {
  const demuxer = new StreamDemuxer();
  return new FlvReader().push(bytes).flatMap((t) => demuxer.push(t.type, t.timestamp, t.body));
}

interface Sample {
  video: boolean;
  dts: number;
  pts: number;
  duration: number;
  key: boolean;
  /** AVCC (length-prefixed) access unit or raw AAC frame: the bytes the FLV tag carried. */
  data: Uint8Array;
}

interface Input {
  events: DemuxEvent[];
  samples: Sample[];
  avcC: Uint8Array;
  asc: Uint8Array;
  width: number;
  height: number;
  sampleRate: number;
  channels: number;
  codecs: [string, string];
  mediaBytes: number;
  durationMs: number;
}

function prepare(bytes: Uint8Array): Input {
  const events = demux(bytes);
  const samples: Sample[] = [];
  let avcC: Uint8Array = new Uint8Array(0);
  let asc: Uint8Array = new Uint8Array(0);
  let width = 0;
  let height = 0;
  let sampleRate = 0;
  let channels = 0;
  const codecs: [string, string] = ['', ''];
  for (const e of events) {
    if (e.kind === 'codec' && e.mediaType === 'video') {
      avcC = e.initData!;
      width = e.info.width!;
      height = e.info.height!;
      codecs[0] = e.info.codecString;
    } else if (e.kind === 'codec' && e.mediaType === 'audio') {
      asc = e.initData!;
      sampleRate = e.info.sampleRate!;
      channels = e.info.channels ?? 2;
      codecs[1] = e.info.codecString;
    } else if (e.kind === 'video' && Array.isArray(e.payload)) {
      const first = e.payload[0]!;
      const last = e.payload[e.payload.length - 1]!;
      const data = new Uint8Array(
        first.buffer,
        first.byteOffset - 4,
        last.byteOffset + last.length - first.byteOffset + 4,
      );
      samples.push({ video: true, dts: e.dts, pts: e.pts, duration: 0, key: e.keyframe, data });
    } else if (e.kind === 'audio') {
      samples.push({
        video: false,
        dts: e.timestamp,
        pts: e.timestamp,
        duration: 0,
        key: true,
        data: e.payload,
      });
    }
  }
  for (const video of [true, false]) {
    const list = samples.filter((s) => s.video === video);
    for (let i = 0; i < list.length; i++) {
      const next = list[i + 1];
      list[i]!.duration = next !== undefined ? next.dts - list[i]!.dts : (list[i - 1]?.duration ?? 0);
    }
  }
  const mediaBytes = samples.reduce((n, s) => n + s.data.length, 0);
  const last = samples[samples.length - 1]!;
  const durationMs = Math.ceil((last.dts + last.duration) / 1000) * 1000;
  return { events, samples, avcC, asc, width, height, sampleRate, channels, codecs, mediaBytes, durationMs };
}

function shift(e: DemuxEvent, offset: number): DemuxEvent {
  if (offset === 0) return e;
  if (e.kind === 'video') return { ...e, dts: e.dts + offset, pts: e.pts + offset };
  if (e.kind === 'audio') return { ...e, timestamp: e.timestamp + offset };
  return e;
}

// ---- candidates: each muxes `loops` repetitions of the input and returns the bytes it produced ----

type Candidate = (input: Input, loops: number, sink: (chunk: Uint8Array) => void) => Promise<void>;

/** CmafWriter: one fragment per GOP (flush before each keyframe), chunks as produced (views, no join). */
function oursGop(join: boolean): Candidate {
  return async (input, loops, sink) => {
    const w = new CmafWriter();
    let first = true;
    const out = (f: ReturnType<CmafWriter['flush']>) => {
      if (f === null) return;
      if (first) {
        sink(w.initSegment());
        first = false;
      }
      if (join) sink(concatChunks(f.chunks));
      else for (const c of f.chunks) sink(c);
    };
    for (let k = 0; k < loops; k++) {
      const offset = k * input.durationMs;
      for (const e of input.events) {
        if (k > 0 && e.kind === 'codec') continue;
        const ev = shift(e, offset);
        w.push(ev);
        if (ev.kind === 'video' && ev.keyframe) out(w.flush({ before: ev.dts }));
      }
    }
    out(w.flush({ final: true }));
  };
}

/** CmafWriter: LL-HLS parts of 250 ms (most start on a non-keyframe), joined into one buffer each. */
const oursParts: Candidate = async (input, loops, sink) => {
  const w = new CmafWriter();
  let first = true;
  let partStart = 0;
  const out = (f: ReturnType<CmafWriter['flush']>) => {
    if (f === null) return;
    if (first) {
      sink(w.initSegment());
      first = false;
    }
    sink(concatChunks(f.chunks));
  };
  for (let k = 0; k < loops; k++) {
    const offset = k * input.durationMs;
    for (const e of input.events) {
      if (k > 0 && e.kind === 'codec') continue;
      const ev = shift(e, offset);
      w.push(ev);
      if (ev.kind === 'video' && ev.dts >= partStart + 250) {
        out(w.flush({ before: ev.dts }));
        partStart = ev.dts;
      }
    }
  }
  out(w.flush({ final: true }));
};

const mediabunny: Candidate = async (input, loops, sink) => {
  const writable = new WritableStream<{ data: Uint8Array }>({ write: (chunk) => sink(chunk.data) });
  const output = new Output({
    format: new Mp4OutputFormat({ fastStart: 'fragmented', minimumFragmentDuration: 1.9 }),
    target: new StreamTarget(writable),
  });
  const video = new EncodedVideoPacketSource('avc');
  const audio = new EncodedAudioPacketSource('aac');
  output.addVideoTrack(video);
  output.addAudioTrack(audio);
  await output.start();
  const videoMeta = {
    decoderConfig: {
      codec: input.codecs[0],
      codedWidth: input.width,
      codedHeight: input.height,
      description: input.avcC,
    },
  };
  const audioMeta = {
    decoderConfig: {
      codec: input.codecs[1],
      sampleRate: input.sampleRate,
      numberOfChannels: input.channels,
      description: input.asc,
    },
  };
  let firstVideo = true;
  let firstAudio = true;
  for (let k = 0; k < loops; k++) {
    const offset = k * input.durationMs;
    for (const s of input.samples) {
      const packet = new EncodedPacket(
        s.data,
        s.key ? 'key' : 'delta',
        (s.pts + offset) / 1000,
        s.duration / 1000,
      );
      if (s.video) {
        await video.add(packet, firstVideo ? videoMeta : undefined);
        firstVideo = false;
      } else {
        await audio.add(packet, firstAudio ? audioMeta : undefined);
        firstAudio = false;
      }
    }
  }
  await output.finalize();
};

const mp4Muxer: Candidate = async (input, loops, sink) => {
  const muxer = new Muxer({
    target: new Mp4MuxerStreamTarget({ onData: (data, _position) => sink(data) }),
    video: { codec: 'avc', width: input.width, height: input.height },
    audio: { codec: 'aac', numberOfChannels: input.channels, sampleRate: input.sampleRate },
    fastStart: 'fragmented',
    minFragmentDuration: 1.9,
    firstTimestampBehavior: 'offset',
  });
  const videoMeta = { decoderConfig: { codec: input.codecs[0], description: input.avcC } };
  const audioMeta = {
    decoderConfig: {
      codec: input.codecs[1],
      sampleRate: input.sampleRate,
      numberOfChannels: input.channels,
      description: input.asc,
    },
  };
  let firstVideo = true;
  let firstAudio = true;
  for (let k = 0; k < loops; k++) {
    const offset = k * input.durationMs * 1000;
    for (const s of input.samples) {
      if (s.video) {
        muxer.addVideoChunkRaw(
          s.data,
          s.key ? 'key' : 'delta',
          s.pts * 1000 + offset,
          s.duration * 1000,
          firstVideo ? (videoMeta as never) : undefined,
          (s.pts - s.dts) * 1000,
        );
        firstVideo = false;
      } else {
        muxer.addAudioChunkRaw(
          s.data,
          'key',
          s.dts * 1000 + offset,
          s.duration * 1000,
          firstAudio ? (audioMeta as never) : undefined,
        );
        firstAudio = false;
      }
    }
  }
  muxer.finalize();
};

const CANDIDATES: [string, Candidate][] = [
  ['@rtmp/mp4 CmafWriter, per GOP (chunks as views)', oursGop(false)],
  ['@rtmp/mp4 CmafWriter, per GOP (joined per fragment)', oursGop(true)],
  ['@rtmp/mp4 CmafWriter, 250 ms parts (joined)', oursParts],
  ['mediabunny 1.61.0, fragmented (min 1.9 s)', mediabunny],
  ['mp4-muxer 5.2.2, fragmented (min 1.9 s)', mp4Muxer],
];

// ---- throughput ----

function streamFile(): Uint8Array {
  const file = path.join(tmpdir(), `mp4-bench-6mbps-${SECONDS}s.flv`);
  if (!existsSync(file)) {
    console.log(
      `generating ${file} with ffmpeg (1280x720 30 fps, libx264 6 Mbps, GOP 2 s, B-frames + AAC)...`,
    );
    execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440'],
      ...['-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-b:v', '6M'],
      ...['-g', '60', '-c:a', 'aac', '-b:a', '128k', file],
    ]);
  }
  return new Uint8Array(readFileSync(file));
}

async function measure(name: string, candidate: Candidate, input: Input): Promise<void> {
  const loops = Math.max(1, Math.round(TARGET_BYTES / input.mediaBytes));
  let out = 0;
  const sink = (chunk: Uint8Array) => {
    out += chunk.length;
  };
  await candidate(input, 1, () => {}); // warm-up
  global.gc?.();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await candidate(input, loops, sink);
  const wall = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSec = (used.user + used.system) / 1e6;
  const gb = (input.mediaBytes * loops) / 1e9;
  console.log(
    `${name.padEnd(54)} ${(cpuSec / gb).toFixed(2).padStart(6)} CPU s/GB  ${(gb / wall).toFixed(2).padStart(6)} GB/s wall` +
      `  ${(gb * 1000).toFixed(0)} MB in, ${(out / 1e6).toFixed(0)} MB out`,
  );
}

// ---- correctness: small_h264_aac.flv through each candidate, read by ffprobe ----

async function check(name: string, candidate: Candidate): Promise<void> {
  const input = prepare(readFixture('small_h264_aac.flv'));
  const chunks: Uint8Array[] = [];
  await candidate(input, 1, (c) => chunks.push(c.slice()));
  const file = path.join(tmpdir(), `mp4-bench-check-${name.replace(/\W+/g, '_')}.mp4`);
  writeFileSync(file, concatChunks(chunks));
  const probe = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-show_entries',
      'packet=codec_type,pts,dts,size,flags:stream=codec_type,time_base',
      '-of',
      'json',
      file,
    ],
    { encoding: 'utf8' },
  );
  const json = JSON.parse(probe.stdout || '{"packets":[],"streams":[]}') as {
    streams: { codec_type: string; time_base: string }[];
    packets: { codec_type: string; pts: string; dts: string; size: string; flags: string }[];
  };
  const scale = new Map(json.streams.map((s) => [s.codec_type, Number(s.time_base.split('/')[1]) / 1000]));
  const oracle = readOracle('small_h264_aac.packets.csv');
  let exact = 0;
  let total = 0;
  for (const type of ['video', 'audio'] as const) {
    const ours = json.packets.filter((p) => p.codec_type === type);
    const want = oracle.filter((p) => p.type === type);
    total += want.length;
    const k = scale.get(type) ?? 1;
    want.forEach((w, i) => {
      const p = ours[i];
      if (
        p !== undefined &&
        Math.round(Number(p.dts) / k) === w.dts &&
        Math.round(Number(p.pts) / k) === w.pts &&
        Number(p.size) === w.size &&
        p.flags.startsWith('K') === w.keyframe
      ) {
        exact++;
      }
    });
  }
  const decode = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  const errors = decode.stderr.trim().split('\n').filter(Boolean).length;
  console.log(
    `${name.padEnd(54)} ${exact}/${total} samples exact (dts, pts, size, key)  decode errors: ${errors}`,
  );
}

const input = prepare(streamFile());
console.log(
  `input: ${(input.mediaBytes / 1e6).toFixed(1)} MB of H.264 + AAC samples (${input.samples.length} samples, ` +
    `${input.durationMs / 1000} s), repeated to ~${TARGET_BYTES >> 20} MB per candidate; node ${process.version}`,
);
for (const [name, candidate] of CANDIDATES) await measure(name, candidate, input);
if (CHECK) {
  console.log('\ncorrectness on small_h264_aac.flv (ffprobe against small_h264_aac.packets.csv):');
  for (const [name, candidate] of CANDIDATES) await check(name, candidate);
}
