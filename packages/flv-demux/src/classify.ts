import {
  AUDIO_FOURCCS,
  type AudioCodec,
  AudioPacketType,
  AvMultitrackType,
  LEGACY_AUDIO_CODECS,
  LEGACY_VIDEO_CODECS,
  VIDEO_FOURCCS,
  type VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from './codecs.js';

/**
 * What an audio or video tag is to a relay, a recorder or a probe:
 *
 * - `config`: a codec configuration: legacy AVC/HEVC/AV1 sequence header or AAC AudioSpecificConfig, Enhanced RTMP
 *   SequenceStart or MPEG2TSSequenceStart, audio MultichannelConfig. A player needs the current one of each track
 *   before media.
 * - `keyframe`: coded video of frame type 1 (key) or 4 (generated key): a player may start here.
 * - `frame`: any other coded frame (inter video frames, every audio frame).
 * - `sequenceEnd`: the end of a track's sequence: its configuration no longer applies.
 * - `metadata`: an Enhanced RTMP video Metadata packet (packet type 4, e.g. `colorInfo`).
 * - `command`: a video info/command frame (frame type 5: start or end of a client-side seek).
 * - `unknown`: what {@link parseVideoTag} / {@link parseAudioTag} reject: empty or truncated headers, an unknown
 *   packet or multitrack type, nested multitrack.
 */
export type TagKind = 'config' | 'keyframe' | 'frame' | 'sequenceEnd' | 'metadata' | 'command' | 'unknown';

/** One track a classified tag carries. */
export interface TagTrack<C extends VideoCodec | AudioCodec = VideoCodec | AudioCodec> {
  /** Track id: 0 unless multitrack. */
  readonly track: number;
  /** The codec from the legacy codec id / sound format or the FourCC, null when this package does not know it. */
  readonly codec: C | null;
}

interface TagClassBase<M extends 'video' | 'audio', C extends VideoCodec | AudioCodec> {
  readonly kind: TagKind;
  readonly media: M;
  /**
   * The packet type in Enhanced RTMP numbering ({@link VideoPacketType} / {@link AudioPacketType}) once ModEx and
   * multitrack wrappers are read; legacy AVC/HEVC/AV1 and AAC packet types are 0-2 already, other legacy codecs are
   * CodedFrames (1). -1 for a command frame and for `unknown`.
   */
  readonly packetType: number;
  /** True for an Enhanced RTMP header (ExVideoTagHeader / ExAudioTagHeader). */
  readonly enhanced: boolean;
  /** The {@link AvMultitrackType} of a multitrack tag, else null. */
  readonly multitrackType: number | null;
  /**
   * The tracks, in the order the tag carries them: one for a legacy or single-track tag, one or more for multitrack,
   * none for a command frame or `unknown`.
   */
  readonly tracks: readonly TagTrack<C>[];
}

/** The class of a video tag body, from {@link classifyVideoTag}. */
export type VideoTagClass = TagClassBase<'video', VideoCodec>;
/** The class of an audio tag body, from {@link classifyAudioTag}. */
export type AudioTagClass = TagClassBase<'audio', AudioCodec>;
/** The class of a media tag body. */
export type TagClass = VideoTagClass | AudioTagClass;

// Codec indexes: 0 = no track (command, unknown), 1..14 a codec of the media's list, 15 = a track whose codec this
// package does not know.
const NO_TRACK = 0;
const UNKNOWN_CODEC = 15;

/** What the classifier knows of one media type; results are interned per table. */
interface Media<M extends 'video' | 'audio', C extends VideoCodec | AudioCodec> {
  readonly media: M;
  /** Codec index - 1 -> codec. */
  readonly codecs: readonly C[];
  /** Legacy codec id / sound format -> codec index. */
  readonly legacy: Uint8Array;
  /** FourCC (as a big-endian int32) -> codec index: compared as numbers, no string is built per message. */
  readonly fourccs: FourccTable;
  /** The packet type that announces a multitrack header. */
  readonly multitrack: number;
  /**
   * Interned results of legacy and single-track tags, built on first use: every combination of header form, kind,
   * packet type (-1..7) and codec index is at most 2 * 7 * 9 * 16 objects, so a message costs an index computation
   * and an array read.
   */
  readonly interned: (TagClassBase<M, C> | undefined)[];
}

/**
 * FourCC -> codec index as a small open-addressing table of int32 keys: a lookup reads two typed arrays, where a
 * `Map` keyed by numbers above 2^30 would box each key.
 */
class FourccTable {
  readonly #keys = new Int32Array(32);
  readonly #values = new Uint8Array(32);

  set(fourcc: string, index: number): void {
    const key =
      (fourcc.charCodeAt(0) << 24) |
      (fourcc.charCodeAt(1) << 16) |
      (fourcc.charCodeAt(2) << 8) |
      fourcc.charCodeAt(3);
    let slot = hash(key);
    while (this.#values[slot] !== 0) slot = (slot + 1) & 31;
    this.#keys[slot] = key;
    this.#values[slot] = index;
  }

  /** The codec index of the FourCC at `at` (4 bytes present), UNKNOWN_CODEC when it is not in the table. */
  at(body: Uint8Array, at: number): number {
    const key = (body[at]! << 24) | (body[at + 1]! << 16) | (body[at + 2]! << 8) | body[at + 3]!;
    for (let slot = hash(key); ; slot = (slot + 1) & 31) {
      const value = this.#values[slot]!;
      if (value === 0) return UNKNOWN_CODEC;
      if (this.#keys[slot] === key) return value;
    }
  }
}

const hash = (key: number): number => (key ^ (key >>> 8) ^ (key >>> 16) ^ (key >>> 24)) & 31;

function media<M extends 'video' | 'audio', C extends VideoCodec | AudioCodec>(
  name: M,
  codecs: readonly C[],
  legacy: Readonly<Record<number, C>>,
  fourccs: Readonly<Record<string, C>>,
  multitrack: number,
): Media<M, C> {
  const index = (codec: C): number => codecs.indexOf(codec) + 1;
  const legacyIndex = new Uint8Array(16).fill(UNKNOWN_CODEC);
  for (const [id, codec] of Object.entries(legacy)) legacyIndex[Number(id)] = index(codec);
  const fourccIndex = new FourccTable();
  for (const [f, codec] of Object.entries(fourccs)) fourccIndex.set(f, index(codec));
  // Filled with undefined up front: a packed array, not the dictionary a sparse one would turn into.
  const interned = new Array<TagClassBase<M, C> | undefined>(2 * 7 * 9 * 16).fill(undefined);
  return { media: name, codecs, legacy: legacyIndex, fourccs: fourccIndex, multitrack, interned };
}

// The lists follow the order of the codec types; the tables are those of codecs.ts.
const VIDEO = media<'video', VideoCodec>(
  'video',
  ['avc', 'hevc', 'vvc', 'av1', 'vp9', 'vp8', 'h263', 'screen', 'vp6', 'vp6a', 'screen2'],
  LEGACY_VIDEO_CODECS,
  VIDEO_FOURCCS,
  VideoPacketType.Multitrack,
);
const AUDIO = media<'audio', AudioCodec>(
  'audio',
  [
    'pcm',
    'adpcm',
    'mp3',
    'pcm-le',
    'nellymoser',
    'g711a',
    'g711u',
    'aac',
    'speex',
    'device',
    'opus',
    'flac',
    'ac3',
    'eac3',
  ],
  LEGACY_AUDIO_CODECS,
  AUDIO_FOURCCS,
  AudioPacketType.Multitrack,
);

const AVC = VIDEO.codecs.indexOf('avc') + 1;
const HEVC = VIDEO.codecs.indexOf('hevc') + 1;
const VVC = VIDEO.codecs.indexOf('vvc') + 1;

function codecOf<C extends VideoCodec | AudioCodec>(m: Media<'video' | 'audio', C>, index: number): C | null {
  return m.codecs[index - 1] ?? null;
}

const KINDS: readonly TagKind[] = [
  'unknown',
  'config',
  'keyframe',
  'frame',
  'sequenceEnd',
  'metadata',
  'command',
];
const K_UNKNOWN = 0;
const K_CONFIG = 1;
const K_KEYFRAME = 2;
const K_FRAME = 3;
const K_SEQUENCE_END = 4;
const K_METADATA = 5;
const K_COMMAND = 6;

function interned<M extends 'video' | 'audio', C extends VideoCodec | AudioCodec>(
  m: Media<M, C>,
  enhanced: boolean,
  kind: number,
  packetType: number,
  codec: number,
): TagClassBase<M, C> {
  const key = (((enhanced ? 7 : 0) + kind) * 9 + packetType + 1) * 16 + codec;
  const found = m.interned[key];
  if (found !== undefined) return found;
  const tracks: TagTrack<C>[] =
    codec === NO_TRACK ? [] : [Object.freeze({ track: 0, codec: codecOf(m, codec) })];
  const result: TagClassBase<M, C> = Object.freeze({
    kind: KINDS[kind]!,
    media: m.media,
    packetType,
    enhanced,
    multitrackType: null,
    tracks: Object.freeze(tracks),
  });
  m.interned[key] = result;
  return result;
}

// Legacy results by header byte and packet type (0-2 for video, 0-1 for audio; CodedFrames for codecs without one):
// the class of a legacy tag depends on nothing else.
const LEGACY_VIDEO = new Array<VideoTagClass | undefined>(256 * 3).fill(undefined);
const LEGACY_AUDIO = new Array<AudioTagClass | undefined>(16 * 2).fill(undefined);

const UNKNOWN_VIDEO: VideoTagClass = interned(VIDEO, false, K_UNKNOWN, -1, NO_TRACK);
const UNKNOWN_AUDIO: AudioTagClass = interned(AUDIO, false, K_UNKNOWN, -1, NO_TRACK);

function videoKind(packetType: number, frameType: number): number {
  switch (packetType) {
    case VideoPacketType.SequenceStart:
    case VideoPacketType.MPEG2TSSequenceStart:
      return K_CONFIG;
    case VideoPacketType.SequenceEnd:
      return K_SEQUENCE_END;
    case VideoPacketType.Metadata:
      return K_METADATA;
    default:
      return frameType === VideoFrameType.Key || frameType === VideoFrameType.GeneratedKey
        ? K_KEYFRAME
        : K_FRAME;
  }
}

function audioKind(packetType: number): number {
  if (packetType === AudioPacketType.SequenceStart || packetType === AudioPacketType.MultichannelConfig) {
    return K_CONFIG;
  }
  return packetType === AudioPacketType.SequenceEnd ? K_SEQUENCE_END : K_FRAME;
}

/**
 * Where the packet type byte of an Enhanced RTMP header lies after a chain of ModEx blocks that starts at `at`
 * (each: a size - 1 byte, or 0xFF and a u16 size - 1, the data, then modExType << 4 | next packet type), or -1
 * when the body ends inside it.
 */
function skipModEx(body: Uint8Array, at: number): number {
  const n = body.length;
  let pos = at;
  for (;;) {
    if (pos >= n) return -1;
    let size = body[pos++]! + 1;
    if (size === 256) {
      if (pos + 2 > n) return -1;
      size = ((body[pos]! << 8) | body[pos + 1]!) + 1;
      pos += 2;
    }
    pos += size;
    if (pos >= n) return -1;
    // Video and audio both use 7 for ModEx.
    if ((body[pos]! & 15) !== VideoPacketType.ModEx) return pos;
    pos++;
  }
}

/**
 * Classifies a video tag body (RTMP message type 9 / FLV tag type 9): legacy FLV (codec ids 7 AVC, 12 HEVC and 13
 * AV1 with their packet types, the older codecs as frames) and Enhanced RTMP v1/v2 (every packet type, ModEx chains,
 * multitrack in all three modes). Reads the headers only, never the payload; never throws.
 *
 * It agrees with {@link parseVideoTag}: `unknown` exactly where the parser throws, otherwise the kind, packet type,
 * tracks and codecs it reports. Legacy and single-track tags get shared frozen results (nothing allocated per
 * message); multitrack tags get a new frozen object.
 *
 * @example
 * ```ts
 * import { classifyVideoTag } from '@rtmp/flv-demux';
 *
 * const c = classifyVideoTag(Uint8Array.of(0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f)); // legacy AVC sequence header
 * console.log(c.kind, c.tracks[0]?.codec); // config avc
 * ```
 */
export function classifyVideoTag(body: Uint8Array): VideoTagClass {
  const n = body.length;
  if (n === 0) return UNKNOWN_VIDEO;
  const b0 = body[0]!;
  const frameType = (b0 >> 4) & 7;
  if ((b0 & 0x80) === 0) {
    // FLV 10.1: a command frame carries one UI8 instead of video data.
    if (frameType === VideoFrameType.Command) {
      return n >= 2 ? interned(VIDEO, false, K_COMMAND, -1, NO_TRACK) : UNKNOWN_VIDEO;
    }
    const id = b0 & 15;
    let packetType: number = VideoPacketType.CodedFrames;
    // AVC (7), HEVC (12) and AV1 (13) carry a packet type and a composition time.
    if (id === 7 || id === 12 || id === 13) {
      if (n < 5) return UNKNOWN_VIDEO;
      packetType = body[1]!;
      if (packetType > VideoPacketType.SequenceEnd) return UNKNOWN_VIDEO;
    }
    // The hot path of a relay of legacy H.264: one array read once the header byte and packet type are known.
    const slot = b0 * 3 + packetType;
    const known = LEGACY_VIDEO[slot];
    if (known !== undefined) return known;
    return (LEGACY_VIDEO[slot] = interned(
      VIDEO,
      false,
      videoKind(packetType, frameType),
      packetType,
      VIDEO.legacy[id]!,
    ));
  }
  return enhancedVideo(body, frameType, b0 & 15);
}

// Kept apart so that the legacy path above stays small enough to be inlined into a relay's per-message code.
function enhancedVideo(body: Uint8Array, frameType: number, firstPacketType: number): VideoTagClass {
  const n = body.length;
  let pos = 1;
  let packetType = firstPacketType;
  if (packetType === VideoPacketType.ModEx) {
    const at = skipModEx(body, 1);
    if (at < 0) return UNKNOWN_VIDEO;
    packetType = body[at]! & 15;
    pos = at + 1;
  }
  if (packetType !== VideoPacketType.Metadata && frameType === VideoFrameType.Command) {
    return pos < n ? interned(VIDEO, true, K_COMMAND, -1, NO_TRACK) : UNKNOWN_VIDEO;
  }
  if (packetType === VideoPacketType.Multitrack) {
    const tracks = readTracks(VIDEO, body, pos);
    if (tracks === null) return UNKNOWN_VIDEO;
    if (tracks.packetType === VideoPacketType.CodedFrames && tracks.shortCts) return UNKNOWN_VIDEO;
    return multitrackClass(VIDEO, videoKind(tracks.packetType, frameType), tracks);
  }
  if (packetType > VideoPacketType.MPEG2TSSequenceStart || pos + 4 > n) return UNKNOWN_VIDEO;
  const codec = VIDEO.fourccs.at(body, pos);
  // avc1/hvc1/vvc1 CodedFrames start with a composition time.
  if (packetType === VideoPacketType.CodedFrames && hasCts(codec) && n - pos - 4 < 3) return UNKNOWN_VIDEO;
  return interned(VIDEO, true, videoKind(packetType, frameType), packetType, codec);
}

function hasCts(codec: number): boolean {
  return codec === AVC || codec === HEVC || codec === VVC;
}

interface Tracks<C extends VideoCodec | AudioCodec> {
  packetType: number;
  multitrackType: number;
  list: TagTrack<C>[];
  /** Some avc1/hvc1/vvc1 track payload is too short for a composition time (only matters for CodedFrames). */
  shortCts: boolean;
}

/**
 * Reads a multitrack header from `at` (the multitrack byte) to the end of the body: the tracks and their codecs, or
 * null where the parser would throw.
 */
function readTracks<C extends VideoCodec | AudioCodec>(
  m: Media<'video' | 'audio', C>,
  body: Uint8Array,
  at: number,
): Tracks<C> | null {
  const n = body.length;
  if (at >= n) return null;
  const multitrackType = body[at]! >> 4;
  const packetType = body[at]! & 15;
  if (packetType === m.multitrack || multitrackType > AvMultitrackType.ManyTracksManyCodecs) return null;
  const valid =
    m.media === 'video' ? packetType <= VideoPacketType.MPEG2TSSequenceStart : isAudioPacketType(packetType);
  if (!valid) return null;
  const result: Tracks<C> = { packetType, multitrackType, list: [], shortCts: false };
  let pos = at + 1;
  let codec = UNKNOWN_CODEC;
  if (multitrackType !== AvMultitrackType.ManyTracksManyCodecs) {
    if (pos + 4 > n) return null;
    codec = m.fourccs.at(body, pos);
    pos += 4;
  }
  for (;;) {
    if (multitrackType === AvMultitrackType.ManyTracksManyCodecs) {
      if (pos + 4 > n) return null;
      codec = m.fourccs.at(body, pos);
      pos += 4;
    }
    if (pos >= n) return null;
    const track = body[pos++]!;
    let size = n - pos;
    if (multitrackType !== AvMultitrackType.OneTrack) {
      if (pos + 3 > n) return null;
      size = (body[pos]! << 16) | (body[pos + 1]! << 8) | body[pos + 2]!;
      pos += 3;
      if (pos + size > n) return null;
    }
    pos += size;
    result.list.push(Object.freeze({ track, codec: codecOf(m, codec) }));
    if (m.media === 'video' && hasCts(codec) && size < 3) result.shortCts = true;
    if (multitrackType === AvMultitrackType.OneTrack || pos === n) return result;
  }
}

function multitrackClass<M extends 'video' | 'audio', C extends VideoCodec | AudioCodec>(
  m: Media<M, C>,
  kind: number,
  tracks: Tracks<C>,
): TagClassBase<M, C> {
  return Object.freeze({
    kind: KINDS[kind]!,
    media: m.media,
    packetType: tracks.packetType,
    enhanced: true,
    multitrackType: tracks.multitrackType,
    tracks: Object.freeze(tracks.list),
  });
}

function isAudioPacketType(packetType: number): boolean {
  return (
    packetType === AudioPacketType.SequenceStart ||
    packetType === AudioPacketType.CodedFrames ||
    packetType === AudioPacketType.SequenceEnd ||
    packetType === AudioPacketType.MultichannelConfig
  );
}

/**
 * Classifies an audio tag body (RTMP message type 8 / FLV tag type 8): every legacy sound format (AAC with its
 * packet type, the others as frames) and the Enhanced RTMP ExAudioTagHeader (SequenceStart, CodedFrames,
 * SequenceEnd, MultichannelConfig, ModEx chains, multitrack in all three modes). Never throws; agrees with
 * {@link parseAudioTag} as {@link classifyVideoTag} does with the video parser. Audio has no keyframes: every coded
 * frame is `frame`.
 */
export function classifyAudioTag(body: Uint8Array): AudioTagClass {
  const n = body.length;
  if (n === 0) return UNKNOWN_AUDIO;
  const b0 = body[0]!;
  const soundFormat = b0 >> 4;
  if (soundFormat !== 9) {
    let packetType: number = AudioPacketType.CodedFrames;
    if (soundFormat === 10) {
      if (n < 2) return UNKNOWN_AUDIO;
      packetType = body[1]!;
      if (packetType > AudioPacketType.CodedFrames) return UNKNOWN_AUDIO;
    }
    const slot = soundFormat * 2 + packetType;
    const known = LEGACY_AUDIO[slot];
    if (known !== undefined) return known;
    return (LEGACY_AUDIO[slot] = interned(
      AUDIO,
      false,
      audioKind(packetType),
      packetType,
      AUDIO.legacy[soundFormat]!,
    ));
  }
  return enhancedAudio(body, b0 & 15);
}

function enhancedAudio(body: Uint8Array, firstPacketType: number): AudioTagClass {
  const n = body.length;
  let pos = 1;
  let packetType = firstPacketType;
  if (packetType === AudioPacketType.ModEx) {
    const at = skipModEx(body, 1);
    if (at < 0) return UNKNOWN_AUDIO;
    packetType = body[at]! & 15;
    pos = at + 1;
  }
  if (packetType === AudioPacketType.Multitrack) {
    const tracks = readTracks(AUDIO, body, pos);
    return tracks === null ? UNKNOWN_AUDIO : multitrackClass(AUDIO, audioKind(tracks.packetType), tracks);
  }
  if (!isAudioPacketType(packetType) || pos + 4 > n) return UNKNOWN_AUDIO;
  return interned(AUDIO, true, audioKind(packetType), packetType, AUDIO.fourccs.at(body, pos));
}

/**
 * {@link classifyVideoTag} for type 9, {@link classifyAudioTag} for type 8 (RTMP message type / FLV tag type), null
 * for any other type.
 */
export function classifyTag(type: number, body: Uint8Array): TagClass | null {
  if (type === 9) return classifyVideoTag(body);
  if (type === 8) return classifyAudioTag(body);
  return null;
}
