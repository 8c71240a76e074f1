import { ByteReader } from './bytes.js';
import {
  AUDIO_FOURCCS,
  type AudioCodec,
  AudioPacketType,
  AvMultitrackType,
  LEGACY_AUDIO_CODECS,
} from './codecs.js';
import { readModExChain, readMultitrack, readTracks } from './enhanced.js';
import { FlvError } from './errors.js';

/** One codec payload of an audio tag. */
export interface AudioTagPacket {
  /** {@link AudioPacketType} value: SequenceStart, CodedFrames, SequenceEnd or MultichannelConfig. */
  packetType: number;
  /** The codec, or null when the sound format / FourCC is unknown. */
  codec: AudioCodec | null;
  /** The Enhanced RTMP FourCC, or null for a legacy tag. */
  fourcc: string | null;
  /** Track id (0 unless multitrack). */
  track: number;
  /** The payload after all headers: a zero-copy view of the tag body. */
  data: Uint8Array;
}

/** A parsed audio tag body (legacy FLV or Enhanced RTMP). */
export interface AudioTag {
  /** True for sound format 9 (ExAudioTagHeader). */
  enhanced: boolean;
  /** The legacy sound format (0-15), 9 for Enhanced RTMP. */
  soundFormat: number;
  /** Legacy low nibble: soundRate << 2 | soundSize << 1 | soundType (0 for Enhanced RTMP). */
  legacyFlags: number;
  /** Sub-millisecond offset from a ModEx TimestampOffsetNano, 0 when absent. */
  timestampOffsetNano: number;
  /** The {@link AvMultitrackType} when multitrack, else null. */
  multitrackType: number | null;
  /** The payloads, in order. */
  packets: AudioTagPacket[];
}

const VALID_AUDIO_PACKET_TYPES = new Set<number>([
  AudioPacketType.SequenceStart,
  AudioPacketType.CodedFrames,
  AudioPacketType.SequenceEnd,
  AudioPacketType.MultichannelConfig,
]);

/**
 * Parses an audio tag body (RTMP message type 8 / FLV tag type 8): every legacy sound format (AAC with its packet
 * type) and the Enhanced RTMP ExAudioTagHeader with ModEx and multitrack. Payloads are views into `body`.
 *
 * @throws {FlvError} `ERR_FLV_TRUNCATED`, `ERR_FLV_UNKNOWN_PACKET_TYPE`, `ERR_FLV_UNKNOWN_MULTITRACK_TYPE`,
 *   `ERR_FLV_NESTED_MULTITRACK`.
 */
export function parseAudioTag(body: Uint8Array): AudioTag {
  const r = new ByteReader(body, 'audio tag');
  const b0 = r.u8();
  const soundFormat = b0 >> 4;
  if (soundFormat !== 9) {
    const codec = LEGACY_AUDIO_CODECS[soundFormat] ?? null;
    let packetType: number = AudioPacketType.CodedFrames;
    if (codec === 'aac') {
      packetType = r.u8();
      if (packetType > 1)
        throw new FlvError('ERR_FLV_UNKNOWN_PACKET_TYPE', `AAC packet type ${packetType}`, { offset: 1 });
    }
    return {
      enhanced: false,
      soundFormat,
      legacyFlags: b0 & 15,
      timestampOffsetNano: 0,
      multitrackType: null,
      packets: [{ packetType, codec, fourcc: null, track: 0, data: r.rest() }],
    };
  }
  const modEx = readModExChain(r, b0 & 15, AudioPacketType.ModEx);
  const { packetType, multitrackType } = readMultitrack(
    r,
    modEx.packetType,
    AudioPacketType.Multitrack,
    'audio',
  );
  if (!VALID_AUDIO_PACKET_TYPES.has(packetType)) {
    throw new FlvError('ERR_FLV_UNKNOWN_PACKET_TYPE', `audio packet type ${packetType}`, { offset: 0 });
  }
  const tag: AudioTag = {
    enhanced: true,
    soundFormat,
    legacyFlags: 0,
    timestampOffsetNano: modEx.timestampOffsetNano,
    multitrackType,
    packets: [],
  };
  readTracks(r, multitrackType, (fourcc, track, data) => {
    tag.packets.push({ packetType, codec: AUDIO_FOURCCS[fourcc] ?? null, fourcc, track, data });
  });
  return tag;
}
