import { ByteReader } from './bytes.js';
import {
  AvMultitrackType,
  LEGACY_VIDEO_CODECS,
  VIDEO_FOURCCS,
  type VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from './codecs.js';
import { FlvError } from './errors.js';

/** One codec payload of a video tag: a legacy tag has one, an Enhanced RTMP multitrack tag may have several. */
export interface VideoTagPacket {
  /** {@link VideoPacketType} value as sent: SequenceStart, CodedFrames, SequenceEnd, CodedFramesX (CTS 0), Metadata or MPEG2TSSequenceStart. */
  packetType: number;
  /** The codec, or null when the legacy codec id / FourCC is unknown (see `fourcc` / `legacyCodecId`). */
  codec: VideoCodec | null;
  /** The Enhanced RTMP FourCC, or null for a legacy tag. */
  fourcc: string | null;
  /** The legacy FLV codec id, or null for an Enhanced RTMP tag. */
  legacyCodecId: number | null;
  /** Track id (0 unless multitrack). */
  track: number;
  /** Composition time offset in ms (pts - dts), signed; 0 where the format carries none. */
  compositionTime: number;
  /** The payload after all headers: a zero-copy view of the tag body. */
  data: Uint8Array;
}

/** A parsed video tag body (legacy FLV or Enhanced RTMP). */
export interface VideoTag {
  /** True when the ExVideoTagHeader bit is set. */
  enhanced: boolean;
  /** Frame type 1-7 ({@link VideoFrameType}). */
  frameType: number;
  /** The video command byte (0 start seek, 1 end seek) of a command frame, else null. */
  command: number | null;
  /** Sub-millisecond offset from a ModEx TimestampOffsetNano, 0 when absent. */
  timestampOffsetNano: number;
  /** The {@link AvMultitrackType} when the tag is multitrack, else null. */
  multitrackType: number | null;
  /** The payloads, in order (empty for a command frame). */
  packets: VideoTagPacket[];
}

const CTS_FOURCCS = new Set(['avc1', 'hvc1', 'vvc1']);

/**
 * Parses a video tag body (RTMP message type 9 / FLV tag type 9), legacy or Enhanced RTMP v1/v2, including ModEx,
 * multitrack in all three modes and command frames. Payloads are views into `body`, never copies.
 *
 * @throws {FlvError} `ERR_FLV_TRUNCATED`, `ERR_FLV_UNKNOWN_PACKET_TYPE`, `ERR_FLV_UNKNOWN_MULTITRACK_TYPE`,
 *   `ERR_FLV_NESTED_MULTITRACK`. An unknown codec is not an error here: its packet has `codec: null`.
 */
export function parseVideoTag(body: Uint8Array): VideoTag {
  const r = new ByteReader(body, 'video tag');
  const b0 = r.u8();
  const frameType = (b0 >> 4) & 7;
  if ((b0 & 0x80) === 0) return parseLegacy(r, frameType, b0 & 15);

  let packetType = b0 & 15;
  let timestampOffsetNano = 0;
  while (packetType === VideoPacketType.ModEx) {
    const mod = readModEx(r);
    packetType = mod.packetType;
    if (mod.modExType === 0) timestampOffsetNano = mod.nano;
  }
  const tag: VideoTag = {
    enhanced: true,
    frameType,
    command: null,
    timestampOffsetNano,
    multitrackType: null,
    packets: [],
  };
  if (packetType !== VideoPacketType.Metadata && frameType === VideoFrameType.Command) {
    tag.command = r.u8();
    return tag;
  }
  let fourcc: string | null = null;
  let multitrackType: number | null = null;
  if (packetType === VideoPacketType.Multitrack) {
    const b = r.u8();
    multitrackType = b >> 4;
    packetType = b & 15;
    if (packetType === VideoPacketType.Multitrack) {
      throw new FlvError('ERR_FLV_NESTED_MULTITRACK', 'video multitrack inside multitrack', r.pos - 1);
    }
    if (multitrackType > AvMultitrackType.ManyTracksManyCodecs) {
      throw new FlvError(
        'ERR_FLV_UNKNOWN_MULTITRACK_TYPE',
        `video multitrack type ${multitrackType}`,
        r.pos - 1,
      );
    }
    tag.multitrackType = multitrackType;
  }
  if (packetType > VideoPacketType.MPEG2TSSequenceStart) {
    throw new FlvError('ERR_FLV_UNKNOWN_PACKET_TYPE', `video packet type ${packetType}`, 0);
  }
  if (multitrackType !== AvMultitrackType.ManyTracksManyCodecs) fourcc = r.fourcc();
  for (;;) {
    let track = 0;
    let data: Uint8Array;
    if (multitrackType !== null) {
      if (multitrackType === AvMultitrackType.ManyTracksManyCodecs) fourcc = r.fourcc();
      track = r.u8();
      data = multitrackType === AvMultitrackType.OneTrack ? r.rest() : r.view(r.u24());
    } else {
      data = r.rest();
    }
    const f = fourcc as string;
    let compositionTime = 0;
    if (packetType === VideoPacketType.CodedFrames && CTS_FOURCCS.has(f)) {
      const pr = new ByteReader(data, 'video coded frames');
      compositionTime = pr.si24();
      data = pr.rest();
    }
    tag.packets.push({
      packetType,
      codec: VIDEO_FOURCCS[f] ?? null,
      fourcc: f,
      legacyCodecId: null,
      track,
      compositionTime,
      data,
    });
    if (multitrackType === null || multitrackType === AvMultitrackType.OneTrack || r.remaining === 0) break;
  }
  return tag;
}

function parseLegacy(r: ByteReader, frameType: number, codecId: number): VideoTag {
  const tag: VideoTag = {
    enhanced: false,
    frameType,
    command: null,
    timestampOffsetNano: 0,
    multitrackType: null,
    packets: [],
  };
  const codec = LEGACY_VIDEO_CODECS[codecId] ?? null;
  // FLV 10.1: a command frame carries one UI8 instead of video data (trailing bytes, if any, are ignored).
  if (frameType === VideoFrameType.Command) {
    tag.command = r.u8();
    return tag;
  }
  let packetType: number = VideoPacketType.CodedFrames;
  let compositionTime = 0;
  if (codec === 'avc' || codec === 'hevc') {
    packetType = r.u8();
    compositionTime = r.si24();
    if (packetType > 2) {
      throw new FlvError('ERR_FLV_UNKNOWN_PACKET_TYPE', `legacy ${codec} packet type ${packetType}`, 1);
    }
  }
  tag.packets.push({
    packetType,
    codec,
    fourcc: null,
    legacyCodecId: codecId,
    track: 0,
    compositionTime,
    data: r.rest(),
  });
  return tag;
}

/** Reads one ModEx block (shared by audio and video): size, data, then modExType << 4 | next packet type. */
export function readModEx(r: ByteReader): { modExType: number; packetType: number; nano: number } {
  let size = r.u8() + 1;
  if (size === 256) size = r.u16() + 1;
  const data = r.view(size);
  const b = r.u8();
  const nano = data.length >= 3 ? (data[0]! << 16) | (data[1]! << 8) | data[2]! : 0;
  return { modExType: b >> 4, packetType: b & 15, nano };
}
