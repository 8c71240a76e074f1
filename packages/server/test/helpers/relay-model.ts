import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { ChunkDecoder, ChunkEncoder } from '@rtmp/chunk';
import {
  AUDIO_CODEC_FOURCC,
  type AudioCodec,
  concatBytes,
  type DemuxEvent,
  parseAudioTag,
  parseVideoTag,
  StreamMuxer,
  type VideoCodec,
} from '@rtmp/flv-demux';
import type { ClientSession } from '../../src/index.js';

/** One relayed message as a test compares it: RTMP/FLV type, timestamp, body. */
export interface Tag {
  type: 8 | 9 | 18;
  timestamp: number;
  body: Uint8Array;
}

type Kind = 'config' | 'extra' | 'sequenceEnd' | 'media';

/**
 * What a tag is to the relay, from the full parsers (not the classifier under test): a codec configuration, the
 * per-track extra that sits beside it (video Metadata / colorInfo, audio MultichannelConfig), an end of sequence, or
 * media (frames, command frames, anything unparsable).
 */
function kindOf(tag: Tag): { kind: Kind; keyframe: boolean; tracks: number[] } {
  try {
    if (tag.type === 9) {
      const v = parseVideoTag(tag.body);
      const pt = v.command === null ? v.packets[0]!.packetType : -1;
      const tracks = v.packets.map((p) => p.track);
      if (pt === 0 || pt === 5) return { kind: 'config', keyframe: false, tracks };
      if (pt === 4) return { kind: 'extra', keyframe: false, tracks };
      if (pt === 2) return { kind: 'sequenceEnd', keyframe: false, tracks };
      const keyframe = pt !== -1 && (v.frameType === 1 || v.frameType === 4);
      return { kind: 'media', keyframe, tracks };
    }
    const a = parseAudioTag(tag.body);
    const pt = a.packets[0]!.packetType;
    const tracks = a.packets.map((p) => p.track);
    if (pt === 0) return { kind: 'config', keyframe: false, tracks };
    if (pt === 4) return { kind: 'extra', keyframe: false, tracks };
    if (pt === 2) return { kind: 'sequenceEnd', keyframe: false, tracks };
  } catch {
    // Forwarded as media.
  }
  return { kind: 'media', keyframe: false, tracks: [] };
}

/**
 * What a player that starts playing after the first `joinAt` tags of `source` must receive, written as the relay's
 * contract rather than its code: the last data message (timestamp 0); the current configuration of every live
 * track (video headers, video Metadata, audio headers, audio MultichannelConfigs, each group in the order sent,
 * each message once; a track's entries vanish at its end of sequence); the GOP from the last keyframe unless a
 * video track's configuration changed since; then everything sent afterwards, media from a start point on (a
 * keyframe, or an audio frame while no video was seen). Data messages go out with timestamp 0.
 */
export function expectedForJoiner(source: readonly Tag[], joinAt: number): Tag[] {
  let metadata: Tag | undefined;
  const cached = new Map<string, number>(); // `${type}:${track}:${slot}` -> index in source
  const videoConfigs = new Map<number, Uint8Array>();
  let gopStart = -1;
  let hasVideo = false;
  for (let i = 0; i < joinAt; i++) {
    const tag = source[i]!;
    if (tag.type === 18) {
      metadata = tag;
      continue;
    }
    const { kind, keyframe, tracks } = kindOf(tag);
    for (const track of tracks) {
      if (kind === 'config' || kind === 'extra') cached.set(`${tag.type}:${track}:${kind}`, i);
      if (kind === 'sequenceEnd') {
        cached.delete(`${tag.type}:${track}:config`);
        cached.delete(`${tag.type}:${track}:extra`);
      }
      if (tag.type !== 9) continue;
      const before = videoConfigs.get(track);
      if (kind === 'config') {
        if (before !== undefined && !Buffer.from(before).equals(tag.body)) gopStart = -1;
        videoConfigs.set(track, tag.body);
      } else if (kind === 'sequenceEnd') {
        if (before !== undefined) gopStart = -1;
        videoConfigs.delete(track);
      }
    }
    if (kind === 'media' && tag.type === 9) hasVideo = true;
    if (keyframe) gopStart = i;
  }
  const out: Tag[] = [];
  if (metadata) out.push({ ...metadata, timestamp: 0 });
  for (const group of ['9:config', '9:extra', '8:config', '8:extra']) {
    const [type, slot] = group.split(':');
    const indexes = [...cached]
      .filter(([key]) => key.startsWith(`${type}:`) && key.endsWith(`:${slot}`))
      .map(([, index]) => index);
    for (const index of [...new Set(indexes)].sort((a, b) => a - b)) out.push(source[index]!);
  }
  let started = false;
  if (gopStart >= 0) {
    for (let i = gopStart; i < joinAt; i++) {
      const tag = source[i]!;
      if (tag.type !== 18 && kindOf(tag).kind === 'media') out.push(tag);
    }
    started = true;
  }
  for (let i = joinAt; i < source.length; i++) {
    const tag = source[i]!;
    if (tag.type === 18) {
      out.push({ ...tag, timestamp: 0 });
      continue;
    }
    const { kind, keyframe } = kindOf(tag);
    if (kind !== 'media') {
      out.push(tag);
      continue;
    }
    if (!started && (keyframe || (tag.type === 8 && !hasVideo))) started = true;
    if (tag.type === 9) hasVideo = true;
    if (started) out.push(tag);
  }
  return out;
}

/** A tag as the tests compare it: the fields of the issue (type, timestamp, packet type, FourCC) and the body. */
export function describeTag(tag: Tag): string {
  let header = '';
  try {
    if (tag.type === 9) {
      const v = parseVideoTag(tag.body);
      const p = v.packets[0];
      header = `pt ${p?.packetType ?? 'cmd'} ${p?.fourcc ?? p?.legacyCodecId ?? '-'} tracks ${v.packets.map((x) => x.track)}`;
    } else if (tag.type === 8) {
      const a = parseAudioTag(tag.body);
      const p = a.packets[0]!;
      header = `pt ${p.packetType} ${p.fourcc ?? a.soundFormat} tracks ${a.packets.map((x) => x.track)}`;
    }
  } catch {
    header = 'unparsable';
  }
  const body =
    tag.body.byteLength <= 48
      ? Buffer.from(tag.body).toString('hex')
      : `${tag.body.byteLength} bytes sha1 ${createHash('sha1').update(tag.body).digest('hex')}`;
  return `${tag.type} @${tag.timestamp} ${header} ${body}`;
}

/**
 * A player for the relay's in-process API: a stand-in session whose connection decodes what the relay writes
 * (chunk size `chunkSize`) back into tags.
 */
export class RecordingPlayer {
  readonly tags: Tag[] = [];
  /** Every write, as the relay handed it over. */
  readonly writes: Buffer[] = [];
  readonly #decoder = new ChunkDecoder();
  readonly session: ClientSession;

  constructor(chunkSize = 4096) {
    for (const slice of new ChunkEncoder().setChunkSize(chunkSize)) this.#decoder.push(slice);
    const connection = {
      writableLength: 0,
      outChunkSize: chunkSize,
      writeEncoded: (slices: readonly Uint8Array[]) => {
        for (const slice of slices) {
          this.writes.push(Buffer.from(slice));
          for (const m of this.#decoder.push(slice)) {
            if (m.type === 8 || m.type === 9 || m.type === 18) {
              this.tags.push({ type: m.type, timestamp: m.timestamp, body: m.payload.slice() });
            }
          }
        }
        return true;
      },
    };
    // The relay needs only this much of a session: wants(), closed, close/endPlayback and the connection's write side.
    this.session = {
      closed: false,
      wants: () => true,
      endPlayback: () => {},
      close: () => {},
      connection,
    } as unknown as ClientSession;
  }
}

/** A video track of a synthetic stream. */
export interface VideoTrackSpec {
  codec: VideoCodec;
  track: number;
  /** Config record (null: a codec sent without one, e.g. vp08). */
  init: Uint8Array | null;
  /** A second config record, sent before the keyframe at `changeAt` (a resolution change). */
  changed?: Uint8Array;
  legacyId?: number;
  /** Send a colorInfo Metadata packet after the config (E-RTMP tracks). */
  colorInfo?: boolean;
}

/** An audio track of a synthetic stream. */
export interface AudioTrackSpec {
  codec: AudioCodec;
  track: number;
  init: Uint8Array | null;
  legacyId?: number;
  /** Send an E-RTMP MultichannelConfig (stereo, native order) after the config. */
  channelConfig?: boolean;
}

/** Options of {@link syntheticStream}. */
export interface StreamSpec {
  video: VideoTrackSpec[];
  audio: AudioTrackSpec[];
  frames: number;
  gop: number;
  /** Give frames a ModEx TimestampOffsetNano (tracks that have an E-RTMP form). */
  nano?: boolean;
  /** Frame index of the resolution change of the tracks with `changed`. */
  changeAt?: number;
  /** Frame index at which the last video track ends (SequenceEnd), and at which it starts again 2 frames later. */
  endAt?: number;
}

const NAL_CODECS: readonly VideoCodec[] = ['avc', 'hevc', 'vvc'];

/** A stream made by `StreamMuxer`: metadata, configs, interleaved video and audio frames of every track. */
export function syntheticStream(spec: StreamSpec): Tag[] {
  const muxer = new StreamMuxer();
  const tags: Tag[] = [];
  const push = (event: DemuxEvent) => {
    for (const t of muxer.push(event))
      tags.push({ type: t.type, timestamp: t.timestamp, body: concatBytes(t.body) });
  };
  const videoCodec = (v: VideoTrackSpec, timestamp: number, init: Uint8Array | null) => {
    const info: { codecString: string; nalLengthSize?: number; legacyId?: number } = { codecString: v.codec };
    if (NAL_CODECS.includes(v.codec)) info.nalLengthSize = 4;
    if (v.legacyId !== undefined) info.legacyId = v.legacyId;
    push({
      kind: 'codec',
      mediaType: 'video',
      codec: v.codec,
      track: v.track,
      timestamp,
      initData: init,
      info,
    });
  };
  push({ kind: 'metadata', name: 'onMetaData', value: { width: 320 }, args: [{ width: 320 }], timestamp: 0 });
  for (const v of spec.video) {
    videoCodec(v, 0, v.init);
    if (v.colorInfo) {
      const colorInfo = { colorConfig: { bitDepth: 8 } };
      push({
        kind: 'metadata',
        name: 'colorInfo',
        value: colorInfo,
        args: [colorInfo],
        timestamp: 0,
        mediaType: 'video',
        track: v.track,
      });
    }
  }
  for (const a of spec.audio) {
    const info: { codecString: string; legacyId?: number } = { codecString: a.codec };
    if (a.legacyId !== undefined) info.legacyId = a.legacyId;
    push({
      kind: 'codec',
      mediaType: 'audio',
      codec: a.codec,
      track: a.track,
      timestamp: 0,
      initData: a.init,
      info,
    });
    if (a.channelConfig) tags.push({ type: 8, timestamp: 0, body: channelConfig(a) });
  }
  const last = spec.video.at(-1);
  for (let i = 0; i < spec.frames; i++) {
    const ts = i * 40;
    const keyframe = i % spec.gop === 0;
    if (i === spec.changeAt) {
      for (const v of spec.video) if (v.changed) videoCodec(v, ts, v.changed);
    }
    if (last && spec.endAt !== undefined && i === spec.endAt) {
      push({ kind: 'sequenceEnd', mediaType: 'video', codec: last.codec, track: last.track, timestamp: ts });
    }
    if (last && spec.endAt !== undefined && i === spec.endAt + 2) videoCodec(last, ts, last.init);
    for (const v of spec.video) {
      if (last && v === last && spec.endAt !== undefined && i >= spec.endAt && i < spec.endAt + 2) continue;
      const nal = NAL_CODECS.includes(v.codec);
      const legacy = v.legacyId !== undefined || (v.codec === 'avc' && v.track === 0);
      const nano = spec.nano && !legacy ? (i * 7919) % 1_000_000 : 0;
      push({
        kind: 'video',
        codec: v.codec,
        track: v.track,
        dts: ts,
        pts: ts + (nal ? 80 : 0),
        keyframe,
        frameType: keyframe ? 1 : 2,
        timestampOffsetNano: nano,
        payload: nal
          ? [Uint8Array.of(keyframe ? 0x65 : 0x41, i & 255, v.track)]
          : Uint8Array.of(i & 255, v.track, 1),
      } as DemuxEvent);
    }
    for (const a of spec.audio) {
      const legacy = a.legacyId !== undefined || (a.codec === 'aac' && a.track === 0);
      const nano = spec.nano && !legacy ? (i * 104_729) % 1_000_000 : 0;
      push({
        kind: 'audio',
        codec: a.codec,
        track: a.track,
        timestamp: ts + 20,
        payload: Uint8Array.of(0x21, i & 255, a.track),
        timestampOffsetNano: nano,
      });
    }
  }
  return tags;
}

/** An E-RTMP MultichannelConfig for a stereo track in native order (OneTrack multitrack for track ids above 0). */
function channelConfig(a: AudioTrackSpec): Uint8Array {
  const f = Array.from(AUDIO_CODEC_FOURCC[a.codec] ?? 'Opus', (c) => c.charCodeAt(0));
  const config = [1, 2, 0, 0, 0, 3];
  return a.track === 0
    ? Uint8Array.of(0x94, ...f, ...config)
    : Uint8Array.of(0x95, 0x04, ...f, a.track, ...config);
}
