import { type AudioTag, type AudioTagPacket, parseAudioTag } from './audio.js';
import { bytesEqual } from './bytes.js';
import {
  type AudioCodec,
  AudioPacketType,
  isNalCodec,
  type NalVideoCodec,
  type VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from './codecs.js';
import { aacInfo, flacInfo, opusInfo } from './config/audio.js';
import { av1Info, vp9Info } from './config/av1.js';
import { avcInfo } from './config/avc.js';
import { hevcInfo } from './config/hevc.js';
import type { CodecInfo } from './config/info.js';
import { FlvError, type FlvErrorCode } from './errors.js';
import { splitNalUnits } from './nal.js';
import { type AmfValue, parseScriptData } from './script.js';
import { parseVideoTag, type VideoTag, type VideoTagPacket } from './video.js';

/** A video codec (re)configuration: emitted on the first sequence header of a track and whenever it changes. */
export interface VideoCodecEvent {
  kind: 'codec';
  mediaType: 'video';
  codec: VideoCodec;
  track: number;
  timestamp: number;
  /** The configuration record (avcC, hvcC, vvcC, av1C, vpcC), or null for codecs sent without one. */
  initData: Uint8Array | null;
  /** Summary and RFC 6381 codec string. */
  info: CodecInfo;
  /** True when `initData` came from an MPEG2TSSequenceStart (an MPEG-2 TS descriptor, not a config record). */
  mpeg2ts?: true;
}

/** An audio codec (re)configuration. */
export interface AudioCodecEvent {
  kind: 'codec';
  mediaType: 'audio';
  codec: AudioCodec;
  track: number;
  timestamp: number;
  /** AudioSpecificConfig, OpusHead, FLAC STREAMINFO, or null for codecs sent without one. */
  initData: Uint8Array | null;
  info: CodecInfo;
}

interface VideoSampleBase {
  kind: 'video';
  track: number;
  /** Decode timestamp in ms (the RTMP message timestamp). */
  dts: number;
  /** Presentation timestamp in ms: dts + composition time. */
  pts: number;
  /** Frame type 1 (key) or 4 (generated key). */
  keyframe: boolean;
  /** The raw frame type (1 key, 2 inter, 3 disposable inter, 4 generated key). */
  frameType: number;
  /** Sub-millisecond offset from a ModEx TimestampOffsetNano (0 when absent). */
  timestampOffsetNano: number;
}

/** A video sample of a NAL-based codec: `payload` is the list of NAL units (views, no copy). */
export interface NalVideoSampleEvent extends VideoSampleBase {
  codec: NalVideoCodec;
  payload: Uint8Array[];
}

/** A video sample of any other codec: `payload` is the raw frame (a view, no copy). */
export interface RawVideoSampleEvent extends VideoSampleBase {
  codec: Exclude<VideoCodec, NalVideoCodec>;
  payload: Uint8Array;
}

/** A video sample. */
export type VideoSampleEvent = NalVideoSampleEvent | RawVideoSampleEvent;

/** An audio sample (raw frame, a view, no copy). */
export interface AudioSampleEvent {
  kind: 'audio';
  codec: AudioCodec;
  track: number;
  timestamp: number;
  payload: Uint8Array;
  timestampOffsetNano: number;
}

/** A data message (onMetaData and others, by name) or an Enhanced RTMP video Metadata entry (e.g. colorInfo). */
export interface MetadataEvent {
  kind: 'metadata';
  name: string;
  value: AmfValue;
  args: AmfValue[];
  timestamp: number;
  /** Set for video Metadata packets (colorInfo). */
  mediaType?: 'video';
  track?: number;
}

/** A SequenceEnd (or legacy AVC end of sequence): the track's configuration is forgotten. */
export interface SequenceEndEvent {
  kind: 'sequenceEnd';
  mediaType: 'video' | 'audio';
  codec: VideoCodec | AudioCodec;
  track: number;
  timestamp: number;
}

/** An Enhanced RTMP audio MultichannelConfig. */
export interface ChannelConfigEvent {
  kind: 'channelConfig';
  codec: AudioCodec;
  track: number;
  timestamp: number;
  /** 0 unspecified, 1 native, 2 custom. */
  channelOrder: number;
  channelCount: number;
  /** Speaker per channel for the custom order, else null. */
  mapping: number[] | null;
  /** AudioChannelMask bits for the native order, else null. */
  flags: number | null;
}

/** A video command frame (0 start of seek, 1 end of seek). */
export interface VideoCommandEvent {
  kind: 'videoCommand';
  command: number;
  timestamp: number;
}

/** Something this demuxer does not handle (unknown codec, packet type, message type); the stream goes on. */
export interface UnsupportedEvent {
  kind: 'unsupported';
  code: FlvErrorCode;
  message: string;
  timestamp: number;
  mediaType?: 'video' | 'audio' | 'data';
}

/** A malformed message (truncated body, bad config record, bad NAL lengths, bad AMF); the stream goes on. */
export interface ErrorEvent {
  kind: 'error';
  code: FlvErrorCode;
  message: string;
  timestamp: number;
  mediaType?: 'video' | 'audio' | 'data';
}

/** Everything {@link StreamDemuxer.push} can return. */
export type DemuxEvent =
  | VideoCodecEvent
  | AudioCodecEvent
  | VideoSampleEvent
  | AudioSampleEvent
  | MetadataEvent
  | SequenceEndEvent
  | ChannelConfigEvent
  | VideoCommandEvent
  | UnsupportedEvent
  | ErrorEvent;

/** Counters kept by a {@link StreamDemuxer}. */
export interface DemuxStats {
  videoSamples: number;
  audioSamples: number;
  /** Samples dropped because their codec needs a sequence header that has not arrived. */
  droppedBeforeSequenceHeader: number;
  unsupported: number;
  errors: number;
}

interface TrackState {
  codec: VideoCodec | AudioCodec;
  initData: Uint8Array | null;
  nalLengthSize: number;
  /** Legacy codec id / sound format + flags, so a change of legacy header re-announces the codec. */
  legacyKey: number;
}

const VIDEO_NEEDS_CONFIG = new Set<VideoCodec>(['avc', 'hevc', 'vvc', 'av1']);
const AUDIO_NEEDS_CONFIG = new Set<AudioCodec>(['aac', 'flac']);

const LEGACY_VIDEO_STRINGS: Record<string, string> = {
  h263: 'flv1',
  screen: 'flashsv',
  vp6: 'vp6f',
  vp6a: 'vp6a',
  screen2: 'flashsv2',
  vp8: 'vp8',
  vp9: 'vp09',
  av1: 'av01',
  avc: 'avc1',
  hevc: 'hvc1',
  vvc: 'vvc1',
};

const AUDIO_STRINGS: Record<AudioCodec, string> = {
  pcm: 'pcm-s16',
  'pcm-le': 'pcm-s16',
  adpcm: 'adpcm_swf',
  mp3: 'mp3',
  nellymoser: 'nellymoser',
  g711a: 'alaw',
  g711u: 'ulaw',
  aac: 'mp4a.40.2',
  speex: 'speex',
  device: 'device',
  opus: 'opus',
  flac: 'flac',
  ac3: 'ac-3',
  eac3: 'ec-3',
};

/** Summary of a legacy (non-AAC) audio header byte. */
export function legacyAudioInfo(codec: AudioCodec, soundFormat: number, flags: number): CodecInfo {
  const info: CodecInfo = {
    codecString: AUDIO_STRINGS[codec],
    sampleRate: [5512, 11025, 22050, 44100][flags >> 2]!,
    sampleSize: flags & 2 ? 16 : 8,
    channels: (flags & 1) + 1,
    legacyId: soundFormat,
    legacyFlags: flags,
  };
  if (soundFormat === 4 || soundFormat === 11) info.sampleRate = 16000;
  else if (soundFormat === 5 || soundFormat === 14) info.sampleRate = 8000;
  if (soundFormat === 4 || soundFormat === 5 || soundFormat === 11) info.channels = 1;
  if ((soundFormat === 0 || soundFormat === 3) && info.sampleSize === 8) info.codecString = 'pcm-u8';
  return info;
}

/**
 * Turns RTMP audio/video/data message bodies of one published stream into codec events and timed samples (the
 * shape of ExRTMP's `demux: true`), per track. Pure and synchronous; {@link StreamDemuxer.push} never throws:
 * bad input becomes an `error` or `unsupported` event and the stream goes on.
 *
 * Samples are views into the pushed bodies (no copy); configuration records are copied because they are kept.
 */
export class StreamDemuxer {
  /** Counters since construction. */
  readonly stats: DemuxStats = {
    videoSamples: 0,
    audioSamples: 0,
    droppedBeforeSequenceHeader: 0,
    unsupported: 0,
    errors: 0,
  };
  private readonly video = new Map<number, TrackState>();
  private readonly audio = new Map<number, TrackState>();

  /**
   * Demuxes one message body. `type` is the RTMP message type / FLV tag type: 8 audio, 9 video, 18 AMF0 data
   * (15, AMF3 data with its leading format byte, is accepted too).
   */
  push(type: number, timestamp: number, body: Uint8Array): DemuxEvent[] {
    const out: DemuxEvent[] = [];
    const mediaType = type === 8 ? 'audio' : type === 9 ? 'video' : 'data';
    try {
      if (type === 9) this.pushVideo(parseVideoTag(body), timestamp, out);
      else if (type === 8) this.pushAudio(parseAudioTag(body), timestamp, out);
      else if (type === 18 || type === 15)
        this.pushData(type === 15 ? body.subarray(1) : body, timestamp, out);
      else {
        this.stats.unsupported++;
        out.push({
          kind: 'unsupported',
          code: 'ERR_FLV_UNKNOWN_TAG_TYPE',
          message: `message type ${type} is not media`,
          timestamp,
        });
      }
    } catch (e) {
      out.push(this.toEvent(e, timestamp, mediaType));
    }
    return out;
  }

  /** Forgets every track's configuration (e.g. on unpublish). */
  reset(): void {
    this.video.clear();
    this.audio.clear();
  }

  private toEvent(e: unknown, timestamp: number, mediaType: 'video' | 'audio' | 'data'): DemuxEvent {
    const unsupported =
      e instanceof FlvError &&
      (e.code === 'ERR_FLV_UNKNOWN_PACKET_TYPE' ||
        e.code === 'ERR_FLV_UNKNOWN_MULTITRACK_TYPE' ||
        e.code === 'ERR_FLV_UNKNOWN_CODEC');
    const code: FlvErrorCode = e instanceof FlvError ? e.code : 'ERR_FLV_TRUNCATED';
    // A non-FlvError would be a bug in this package: still an event, but marked so tests can catch it.
    const message = e instanceof FlvError ? e.message : `internal: ${String(e)}`;
    if (unsupported) this.stats.unsupported++;
    else this.stats.errors++;
    return { kind: unsupported ? 'unsupported' : 'error', code, message, timestamp, mediaType };
  }

  private pushData(payload: Uint8Array, timestamp: number, out: DemuxEvent[]): void {
    const d = parseScriptData(payload);
    out.push({ kind: 'metadata', name: d.name, value: d.value, args: d.args, timestamp });
  }

  private pushVideo(tag: VideoTag, timestamp: number, out: DemuxEvent[]): void {
    if (tag.command !== null) {
      out.push({ kind: 'videoCommand', command: tag.command, timestamp });
      return;
    }
    for (const p of tag.packets) {
      try {
        this.videoPacket(tag, p, timestamp, out);
      } catch (e) {
        out.push(this.toEvent(e, timestamp, 'video'));
      }
    }
  }

  private videoPacket(tag: VideoTag, p: VideoTagPacket, timestamp: number, out: DemuxEvent[]): void {
    const codec = p.codec;
    if (codec === null) {
      const what = p.fourcc !== null ? `FourCC ${JSON.stringify(p.fourcc)}` : `codec id ${p.legacyCodecId}`;
      throw new FlvError('ERR_FLV_UNKNOWN_CODEC', `unknown video ${what}`);
    }
    const legacyKey = p.legacyCodecId ?? -1;
    const state = this.video.get(p.track);
    switch (p.packetType) {
      case VideoPacketType.SequenceStart:
      case VideoPacketType.MPEG2TSSequenceStart: {
        // An empty SequenceStart (seen from the E-RTMP lab encoder) carries nothing to configure.
        if (p.data.length === 0) return;
        const mpeg2ts = p.packetType === VideoPacketType.MPEG2TSSequenceStart;
        if (state !== undefined && state.codec === codec && bytesEqual(state.initData, p.data)) return;
        const info = mpeg2ts
          ? { codecString: LEGACY_VIDEO_STRINGS[codec] ?? codec }
          : videoConfigInfo(codec, p.data);
        // AVC's legacy header is its canonical form, so only the HEVC 12 and AV1 13 variants are worth reporting.
        if (p.legacyCodecId !== null && p.legacyCodecId !== 7) info.legacyId = p.legacyCodecId;
        const initData = p.data.slice();
        this.video.set(p.track, { codec, initData, nalLengthSize: info.nalLengthSize ?? 4, legacyKey });
        const ev: VideoCodecEvent = {
          kind: 'codec',
          mediaType: 'video',
          codec,
          track: p.track,
          timestamp,
          initData,
          info,
        };
        if (mpeg2ts) ev.mpeg2ts = true;
        out.push(ev);
        return;
      }
      case VideoPacketType.SequenceEnd:
        this.video.delete(p.track);
        out.push({ kind: 'sequenceEnd', mediaType: 'video', codec, track: p.track, timestamp });
        return;
      case VideoPacketType.Metadata: {
        const d = parseScriptData(p.data);
        out.push({
          kind: 'metadata',
          name: d.name,
          value: d.value,
          args: d.args,
          timestamp,
          mediaType: 'video',
          track: p.track,
        });
        return;
      }
      default:
        break;
    }
    let st = state;
    if (st === undefined || st.codec !== codec || (st.initData === null && st.legacyKey !== legacyKey)) {
      if (VIDEO_NEEDS_CONFIG.has(codec)) {
        this.stats.droppedBeforeSequenceHeader++;
        return;
      }
      const info: CodecInfo = { codecString: LEGACY_VIDEO_STRINGS[codec] ?? codec };
      if (p.legacyCodecId !== null) info.legacyId = p.legacyCodecId;
      st = { codec, initData: null, nalLengthSize: 4, legacyKey };
      this.video.set(p.track, st);
      out.push({ kind: 'codec', mediaType: 'video', codec, track: p.track, timestamp, initData: null, info });
    }
    const base = {
      kind: 'video' as const,
      track: p.track,
      dts: timestamp,
      pts: timestamp + p.compositionTime,
      keyframe: tag.frameType === VideoFrameType.Key || tag.frameType === VideoFrameType.GeneratedKey,
      frameType: tag.frameType,
      timestampOffsetNano: tag.timestampOffsetNano,
    };
    this.stats.videoSamples++;
    if (isNalCodec(codec)) out.push({ ...base, codec, payload: splitNalUnits(p.data, st.nalLengthSize) });
    else out.push({ ...base, codec, payload: p.data });
  }

  private pushAudio(tag: AudioTag, timestamp: number, out: DemuxEvent[]): void {
    for (const p of tag.packets) {
      try {
        this.audioPacket(tag, p, timestamp, out);
      } catch (e) {
        out.push(this.toEvent(e, timestamp, 'audio'));
      }
    }
  }

  private audioPacket(tag: AudioTag, p: AudioTagPacket, timestamp: number, out: DemuxEvent[]): void {
    const codec = p.codec;
    if (codec === null) {
      const what =
        p.fourcc !== null ? `FourCC ${JSON.stringify(p.fourcc)}` : `sound format ${tag.soundFormat}`;
      throw new FlvError('ERR_FLV_UNKNOWN_CODEC', `unknown audio ${what}`);
    }
    const legacyKey = tag.enhanced ? -1 : (tag.soundFormat << 4) | tag.legacyFlags;
    const state = this.audio.get(p.track);
    switch (p.packetType) {
      case AudioPacketType.SequenceStart: {
        if (p.data.length === 0) return;
        if (state !== undefined && state.codec === codec && bytesEqual(state.initData, p.data)) return;
        // Only AAC has a legacy sequence header, and its legacy header bits carry nothing (always 44 kHz stereo).
        const info = audioConfigInfo(codec, p.data);
        const initData = p.data.slice();
        this.audio.set(p.track, { codec, initData, nalLengthSize: 0, legacyKey });
        out.push({ kind: 'codec', mediaType: 'audio', codec, track: p.track, timestamp, initData, info });
        return;
      }
      case AudioPacketType.SequenceEnd:
        this.audio.delete(p.track);
        out.push({ kind: 'sequenceEnd', mediaType: 'audio', codec, track: p.track, timestamp });
        return;
      case AudioPacketType.MultichannelConfig: {
        out.push(channelConfig(codec, p.track, timestamp, p.data));
        return;
      }
      default:
        break;
    }
    let st = state;
    if (st === undefined || st.codec !== codec || (st.initData === null && st.legacyKey !== legacyKey)) {
      if (AUDIO_NEEDS_CONFIG.has(codec)) {
        this.stats.droppedBeforeSequenceHeader++;
        return;
      }
      const info: CodecInfo = tag.enhanced
        ? { codecString: AUDIO_STRINGS[codec] }
        : legacyAudioInfo(codec, tag.soundFormat, tag.legacyFlags);
      st = { codec, initData: null, nalLengthSize: 0, legacyKey };
      this.audio.set(p.track, st);
      out.push({ kind: 'codec', mediaType: 'audio', codec, track: p.track, timestamp, initData: null, info });
    }
    this.stats.audioSamples++;
    out.push({
      kind: 'audio',
      codec,
      track: p.track,
      timestamp,
      payload: p.data,
      timestampOffsetNano: tag.timestampOffsetNano,
    });
  }
}

/** Summary of a video configuration record for `codec`. */
export function videoConfigInfo(codec: VideoCodec, data: Uint8Array): CodecInfo {
  switch (codec) {
    case 'avc':
      return avcInfo(data);
    case 'hevc':
      return hevcInfo(data);
    case 'av1':
      return av1Info(data);
    case 'vp9':
      return vp9Info(data);
    case 'vvc': {
      // vvcC: the length size sits in the first byte (reserved 5 bits, lengthSizeMinusOne 2 bits, ptl flag).
      const b0 = data[0] ?? 0;
      return { codecString: 'vvc1', nalLengthSize: ((b0 >> 1) & 3) + 1 };
    }
    default:
      return { codecString: LEGACY_VIDEO_STRINGS[codec] ?? codec };
  }
}

/** Summary of an audio configuration record for `codec`. */
export function audioConfigInfo(codec: AudioCodec, data: Uint8Array): CodecInfo {
  switch (codec) {
    case 'aac':
      return aacInfo(data);
    case 'opus':
      return opusInfo(data);
    case 'flac':
      return flacInfo(data);
    default:
      return { codecString: AUDIO_STRINGS[codec] };
  }
}

function channelConfig(
  codec: AudioCodec,
  track: number,
  timestamp: number,
  data: Uint8Array,
): ChannelConfigEvent {
  if (data.length < 2) throw new FlvError('ERR_FLV_TRUNCATED', 'MultichannelConfig truncated');
  const channelOrder = data[0]!;
  const channelCount = data[1]!;
  let mapping: number[] | null = null;
  let flags: number | null = null;
  if (channelOrder === 2) {
    if (data.length < 2 + channelCount)
      throw new FlvError('ERR_FLV_TRUNCATED', 'MultichannelConfig mapping truncated');
    mapping = Array.from(data.subarray(2, 2 + channelCount));
  } else if (channelOrder === 1) {
    if (data.length < 6) throw new FlvError('ERR_FLV_TRUNCATED', 'MultichannelConfig flags truncated');
    flags = data[2]! * 0x1000000 + ((data[3]! << 16) | (data[4]! << 8) | data[5]!);
  }
  return { kind: 'channelConfig', codec, track, timestamp, channelOrder, channelCount, mapping, flags };
}
