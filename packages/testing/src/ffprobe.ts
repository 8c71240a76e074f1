import { spawnSync } from 'node:child_process';
import { readCsv } from './fixtures.js';
import { run } from './tools.js';

/** One packet of a `.packets.csv` oracle (`ffprobe -show_entries packet=codec_type,stream_index,pts,dts,size,flags`). */
export interface OraclePacket {
  type: 'video' | 'audio';
  streamIndex: number;
  pts: number;
  dts: number;
  size: number;
  keyframe: boolean;
  /** ffprobe's raw flags (`K__`, `___`...). */
  flags: string;
}

/** The packets of a `.packets.csv` fixture, in file order; lines that are not video or audio packets are skipped. */
export function readOracle(name: string): OraclePacket[] {
  return readCsv(name)
    .filter(([type]) => type === 'video' || type === 'audio')
    .map(([type, index, pts, dts, size, flags = '']) => ({
      type: type as 'video' | 'audio',
      streamIndex: Number(index),
      pts: Number(pts),
      dts: Number(dts),
      size: Number(size),
      keyframe: flags.startsWith('K'),
      flags,
    }));
}

/** A video packet as the tests compare demuxed samples with an oracle: timestamps, keyframe flag and size. */
export interface VideoPacketRow {
  dts: number;
  pts: number;
  keyframe: boolean;
  size: number;
}

/** An oracle's video packet as a {@link VideoPacketRow}. */
export function oracleVideoRow(packet: OraclePacket): VideoPacketRow {
  return { dts: packet.dts, pts: packet.pts, keyframe: packet.keyframe, size: packet.size };
}

/**
 * A demuxed AVC/HEVC sample (its NAL units without length prefixes, as `@rtmp/flv-demux` gives them) as a
 * {@link VideoPacketRow}, sized as ffprobe counts the packet of an FLV file: every NAL unit with a 4-byte length.
 */
export function videoSampleRow(sample: {
  dts: number;
  pts: number;
  keyframe: boolean;
  payload: readonly Uint8Array[];
}): VideoPacketRow {
  let size = 0;
  for (const nal of sample.payload) size += nal.byteLength + 4;
  return { dts: sample.dts, pts: sample.pts, keyframe: sample.keyframe, size };
}

/** A stream as {@link probe} reports it. */
export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  nb_read_frames?: string;
  nb_read_packets?: string;
}

/** ffprobe's streams of a file, counting packets (`nb_read_packets`). Empty when ffprobe cannot read it. */
export async function probe(file: string): Promise<ProbedStream[]> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-count_packets'],
    ...['-show_entries', 'stream=codec_type,codec_name,nb_read_packets', '-of', 'json', file],
  ]).done;
  return (JSON.parse(stdout || '{"streams":[]}') as { streams?: ProbedStream[] }).streams ?? [];
}

/** A packet as {@link probePackets} reports it (numbers parsed; NaN where ffprobe printed none). */
export interface ProbedPacket {
  codec_type: string;
  stream_index: number;
  pts: number;
  dts: number;
  size: number;
  flags: string;
}

/** ffprobe's packets of a file, in file order. Empty when ffprobe cannot read it. */
export async function probePackets(file: string): Promise<ProbedPacket[]> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'packet=codec_type,stream_index,pts,dts,size,flags'],
    ...['-of', 'json', file],
  ]).done;
  const packets =
    (JSON.parse(stdout || '{"packets":[]}') as { packets?: Record<string, string | number>[] }).packets ?? [];
  return packets.map((p) => ({
    codec_type: String(p.codec_type),
    stream_index: Number(p.stream_index),
    pts: Number(p.pts),
    dts: Number(p.dts),
    size: Number(p.size),
    flags: String(p.flags ?? ''),
  }));
}

/** ffprobe's video and audio packets of a file, in file order (data streams, e.g. GStreamer's script tags, left out). */
export async function probeMediaPackets(file: string): Promise<ProbedPacket[]> {
  return (await probePackets(file)).filter((p) => p.codec_type === 'video' || p.codec_type === 'audio');
}

/** Decoded frame counts per track of a file; `ok` when ffprobe exited 0 and printed no error. */
export interface FrameCount {
  video: number;
  audio: number;
  ok: boolean;
  stderr: string;
}

/** Decodes a whole file with ffprobe (`-count_frames`): the strictest check that a recording plays. */
export function probeFrames(file: string, timeoutMs = 60_000): FrameCount {
  const r = spawnSync(
    'ffprobe',
    [
      ...['-v', 'error', '-count_frames'],
      ...['-show_entries', 'stream=codec_type,nb_read_frames', '-of', 'json', file],
    ],
    { encoding: 'utf8', timeout: timeoutMs },
  );
  let video = 0;
  let audio = 0;
  try {
    const parsed = JSON.parse(r.stdout) as { streams?: { codec_type: string; nb_read_frames: string }[] };
    for (const s of parsed.streams ?? []) {
      if (s.codec_type === 'video') video = Number(s.nb_read_frames);
      if (s.codec_type === 'audio') audio = Number(s.nb_read_frames);
    }
  } catch {
    // Reported through ok = false.
  }
  const stderr = r.stderr ?? '';
  return { video, audio, ok: r.status === 0 && stderr.trim() === '', stderr };
}
