import { ByteReader } from './bytes.js';
import {
  AvMultitrackType,
  LEGACY_VIDEO_CODECS,
  VIDEO_FOURCCS,
  type VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from './codecs.js';
import { readModExChain, readMultitrack, readTracks } from './enhanced.js';
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

  const modEx = readModExChain(r, b0 & 15, VideoPacketType.ModEx);
  const tag: VideoTag = {
    enhanced: true,
    frameType,
    command: null,
    timestampOffsetNano: modEx.timestampOffsetNano,
    multitrackType: null,
    packets: [],
  };
  if (modEx.packetType !== VideoPacketType.Metadata && frameType === VideoFrameType.Command) {
    tag.command = r.u8();
    return tag;
  }
  const { packetType, multitrackType } = readMultitrack(
    r,
    modEx.packetType,
    VideoPacketType.Multitrack,
    'video',
  );
  tag.multitrackType = multitrackType;
  if (packetType > VideoPacketType.MPEG2TSSequenceStart) {
    throw new FlvError('ERR_FLV_UNKNOWN_PACKET_TYPE', `video packet type ${packetType}`, { offset: 0 });
  }
  readTracks(r, multitrackType, (fourcc, track, data) => {
    let compositionTime = 0;
    if (packetType === VideoPacketType.CodedFrames && CTS_FOURCCS.has(fourcc)) {
      const pr = new ByteReader(data, 'video coded frames');
      compositionTime = pr.si24();
      data = pr.rest();
    }
    tag.packets.push({
      packetType,
      codec: VIDEO_FOURCCS[fourcc] ?? null,
      fourcc,
      legacyCodecId: null,
      track,
      compositionTime,
      data,
    });
  });
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
  // AVC (7), HEVC (12) and AV1 (13) carry a packet type and a composition time (see LEGACY_VIDEO_CODECS).
  if (codecId === 7 || codecId === 12 || codecId === 13) {
    packetType = r.u8();
    compositionTime = r.si24();
    if (packetType > 2) {
      throw new FlvError('ERR_FLV_UNKNOWN_PACKET_TYPE', `legacy ${codec} packet type ${packetType}`, {
        offset: 1,
      });
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
