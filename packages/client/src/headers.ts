import {
  AudioPacketType,
  AvMultitrackType,
  classifyTag,
  parseAudioTag,
  parseScriptData,
  parseVideoTag,
  VideoPacketType,
} from '@rtmp/flv-demux';

/** The media message types a publisher sends: 8 audio, 9 video, 18 data (AMF0). */
export type TagType = 8 | 9 | 18;

/** An FLV tag to publish; the tags of `@rtmp/flv-demux`'s `FlvReader` fit. */
export interface FlvTagInput {
  /** 8 audio, 9 video, 18 script data. */
  readonly type: number;
  /** Milliseconds. */
  readonly timestamp: number;
  /** The tag body: an audio or video tag body, or AMF0 script data. */
  readonly body: Uint8Array;
}

/** A tag a publisher sent, as it remembers it (see {@link RtmpPublisher.headers}). */
export interface PublishedTag extends FlvTagInput {
  readonly type: TagType;
}

/**
 * What a tag is to a publisher: a video `keyframe`; another media `frame`; a `header` (a sequence header, an
 * E-RTMP MPEG-2 TS sequence start, multichannel config or colorInfo metadata: what a player needs before frames); an
 * `end` of sequence; or `data` (script data, video command frames). Multitrack and ModEx-wrapped tags are read
 * through to their packet type.
 */
export type TagRole = 'keyframe' | 'frame' | 'header' | 'end' | 'data';

/** Whether `type` is one a publisher sends (8, 9 or 18). */
export function isTagType(type: number): type is TagType {
  return type === 8 || type === 9 || type === 18;
}

/**
 * The {@link TagRole} of a tag body, from `@rtmp/flv-demux`'s classifier (the one the relay uses). A body that does
 * not parse is a `frame`: it is sent as it is.
 */
export function tagRole(type: number, body: Uint8Array): TagRole {
  if (type !== 8 && type !== 9) return 'data';
  switch (classifyTag(type, body)?.kind) {
    case 'keyframe':
      return 'keyframe';
    case 'config':
    case 'metadata':
      return 'header';
    case 'sequenceEnd':
      return 'end';
    case 'command':
      return 'data';
    default:
      return 'frame';
  }
}

function parsedOrNull<T>(parse: () => T): T | null {
  try {
    return parse();
  } catch {
    // A malformed tag is the server's to judge: the publisher sends it as it is and remembers nothing of it.
    return null;
  }
}

const ONE_TRACK = AvMultitrackType.OneTrack << 4;

/**
 * What a publisher has sent that a new connection needs before media: the last `onMetaData`, and per track (audio
 * and video, legacy and E-RTMP, each track of a multitrack tag on its own) the current sequence header and the
 * E-RTMP colorInfo metadata or multichannel config. A newer one replaces its track's, an end of sequence forgets the
 * track, `@clearDataFrame` forgets the metadata. Kept in the order they were last sent; bodies are copies.
 */
export class HeaderMemory {
  readonly #tags = new Map<string, PublishedTag>();

  /** Takes note of a tag being sent. */
  observe(type: TagType, timestamp: number, body: Uint8Array): void {
    if (type === 18) {
      const script = parsedOrNull(() => parseScriptData(body));
      if (script?.name === 'onMetaData') this.#set('metadata', { type, timestamp, body: body.slice() });
      else if (script?.name === '@clearDataFrame') this.#tags.delete('metadata');
      return;
    }
    const role = tagRole(type, body);
    if (role === 'header' || role === 'end') this.#observeMedia(type, timestamp, body, role);
  }

  /** The remembered tags, in the order they were last sent. */
  tags(): PublishedTag[] {
    return [...this.#tags.values()];
  }

  /** The remembered tags that `other` does not hold the same bytes of. */
  missingFrom(other: HeaderMemory): PublishedTag[] {
    const missing: PublishedTag[] = [];
    for (const [key, tag] of this.#tags) {
      const theirs = other.#tags.get(key);
      if (theirs === undefined || !sameBytes(theirs.body, tag.body)) missing.push(tag);
    }
    return missing;
  }

  #observeMedia(type: 8 | 9, timestamp: number, body: Uint8Array, role: 'header' | 'end'): void {
    const parsed = parsedOrNull(() => (type === 9 ? parseVideoTag(body) : parseAudioTag(body)));
    if (parsed === null) return;
    const frameType = 'frameType' in parsed ? parsed.frameType : 0;
    for (const packet of parsed.packets) {
      const track = `${type}:${packet.track}:`;
      if (role === 'end') {
        for (const key of [...this.#tags.keys()]) if (key.startsWith(track)) this.#tags.delete(key);
        continue;
      }
      // Video Metadata (colorInfo) and audio MultichannelConfig are both packet type 4, kept beside the config.
      const slot = packet.packetType === 4 ? 'info' : 'config';
      const copy =
        parsed.multitrackType === null || packet.fourcc === null
          ? body.slice()
          : oneTrackBody(type, frameType, packet.packetType, packet.fourcc, packet.track, packet.data);
      this.#set(track + slot, { type, timestamp, body: copy });
    }
  }

  #set(key: string, tag: PublishedTag): void {
    // Deleted first, so that the map's order stays the order of the last sends.
    this.#tags.delete(key);
    this.#tags.set(key, tag);
  }
}

/** One track of a multitrack tag as a tag of its own (multitrack OneTrack form, ModEx dropped). */
function oneTrackBody(
  type: 8 | 9,
  frameType: number,
  packetType: number,
  fourcc: string,
  track: number,
  data: Uint8Array,
): Uint8Array {
  const first =
    type === 9 ? 0x80 | (frameType << 4) | VideoPacketType.Multitrack : 0x90 | AudioPacketType.Multitrack;
  const body = new Uint8Array(7 + data.byteLength);
  body[0] = first;
  body[1] = ONE_TRACK | packetType;
  for (let i = 0; i < 4; i++) body[2 + i] = fourcc.charCodeAt(i);
  body[6] = track;
  body.set(data, 7);
  return body;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
