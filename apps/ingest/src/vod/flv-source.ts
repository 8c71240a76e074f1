import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type AmfValue, amfProperties, createAmfObject, EcmaArray } from '@rtmp/amf';
import { classifyTag, FlvReader, muxScriptData, parseScriptData, parseVideoTag } from '@rtmp/flv-demux';
import type { VodSource, VodTag } from './source.js';

/** A seek point: a video keyframe (or, in a file without video, an audio tag about every second). */
interface SeekPoint {
  /** The tag's timestamp (its decode time). */
  timestamp: number;
  /** Its presentation time (timestamp + composition time): what a position is compared with, as for MP4. */
  pts: number;
  offset: number;
}

/** A keyframe's presentation time: its timestamp plus the composition time of its first packet. */
function presentationTime(timestamp: number, body: Uint8Array): number {
  try {
    return timestamp + (parseVideoTag(body).packets[0]?.compositionTime ?? 0);
  } catch {
    return timestamp;
  }
}

/** A tag a player needs before frames (sequence header, colorInfo, multichannel config, end of sequence). */
interface HeaderTag {
  offset: number;
  type: 8 | 9;
  /** Which configuration it replaces: media type and track ids, e.g. `9:0`. */
  key: string;
  kind: string;
  body: Uint8Array;
}

// The first PreviousTagSize (0) after a 9-byte header: what FlvReader reads before tags, when reading from the
// middle of a file.
const SYNTHETIC_HEADER = Uint8Array.of(0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0);
const READ_CHUNK = 64 * 1024;

function isOnMetaData(body: Uint8Array): boolean {
  try {
    return parseScriptData(body).name === 'onMetaData';
  } catch {
    return false;
  }
}

/**
 * An FLV file as a VOD source. Opening reads the whole file once (tag headers and the few header tags: nothing else
 * is kept) to index its keyframes, its sequence headers and its duration; playing streams it from the keyframe at
 * or before the start, the metadata and the headers in force there sent first.
 */
export class FlvVodSource implements VodSource {
  readonly kind = 'flv';
  readonly durationMs: number;
  readonly #path: string;
  readonly #points: SeekPoint[];
  readonly #headers: HeaderTag[];
  readonly #metadata: Uint8Array;
  readonly #firstTagOffset: number;

  private constructor(
    path: string,
    parts: {
      durationMs: number;
      points: SeekPoint[];
      headers: HeaderTag[];
      metadata: Uint8Array;
      first: number;
    },
  ) {
    this.#path = path;
    this.durationMs = parts.durationMs;
    this.#points = parts.points;
    this.#headers = parts.headers;
    this.#metadata = parts.metadata;
    this.#firstTagOffset = parts.first;
  }

  /**
   * Indexes an FLV file.
   * @throws the reader's `FlvError` for a file that is not FLV or breaks mid-way, or the file system's error
   */
  static async open(path: string): Promise<FlvVodSource> {
    const reader = new FlvReader({ previousTagSize: 'ignore' });
    const keyframes: SeekPoint[] = [];
    const audio: SeekPoint[] = [];
    const headers: HeaderTag[] = [];
    let metadata: Record<string, AmfValue> | undefined;
    let first = -1;
    let last = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) {
      for (const tag of reader.push(chunk as Buffer)) {
        if (first < 0) first = tag.offset;
        last = Math.max(last, tag.timestamp);
        if (tag.type === 18) {
          if (metadata === undefined && isOnMetaData(tag.body)) {
            metadata = { ...amfProperties(parseScriptData(tag.body).value) };
          }
          continue;
        }
        if (tag.type !== 8 && tag.type !== 9) continue;
        const c = classifyTag(tag.type, tag.body);
        if (c === null) continue;
        if (c.kind === 'keyframe') {
          const pts = presentationTime(tag.timestamp, tag.body);
          keyframes.push({ timestamp: tag.timestamp, pts, offset: tag.offset });
        } else if (
          tag.type === 8 &&
          c.kind === 'frame' &&
          (audio.at(-1)?.timestamp ?? -1e9) + 1000 <= tag.timestamp
        ) {
          audio.push({ timestamp: tag.timestamp, pts: tag.timestamp, offset: tag.offset });
        } else if (c.kind === 'config' || c.kind === 'metadata' || c.kind === 'sequenceEnd') {
          const key = `${tag.type}:${c.tracks.map((t) => t.track).join(',')}`;
          headers.push({
            offset: tag.offset,
            type: tag.type,
            key,
            kind: c.kind,
            body: Uint8Array.from(tag.body),
          });
        }
      }
    }
    reader.end();
    const durationMs = Math.max(
      last,
      typeof metadata?.duration === 'number' ? Math.round(metadata.duration * 1000) : 0,
    );
    // onMetaData with the duration players show, whatever the file declared.
    const record = Object.assign(createAmfObject(), metadata ?? {}, { duration: durationMs / 1000 });
    return new FlvVodSource(path, {
      durationMs,
      points: keyframes.length > 0 ? keyframes : audio,
      headers,
      metadata: muxScriptData('onMetaData', [new EcmaArray(record)]),
      first: first < 0 ? (await stat(path)).size : first,
    });
  }

  /** The tags from the seek point at or before `start` (ms), onMetaData and the headers in force there first. */
  async *tags(start: number): AsyncGenerator<VodTag, void, undefined> {
    let point: SeekPoint = { timestamp: 0, pts: 0, offset: this.#firstTagOffset };
    if (start > 0) {
      for (const p of this.#points) {
        if (p.pts > start) break;
        point = p;
      }
    }
    yield { type: 18, timestamp: point.timestamp, body: this.#metadata };
    // The latest configuration of each track before the seek point; an end of sequence forgets the track.
    const current = new Map<string, HeaderTag>();
    for (const header of this.#headers) {
      if (header.offset >= point.offset) break;
      if (header.kind === 'sequenceEnd') {
        current.delete(`${header.key}:config`);
        current.delete(`${header.key}:metadata`);
      } else current.set(`${header.key}:${header.kind}`, header);
    }
    for (const header of current.values())
      yield { type: header.type, timestamp: point.timestamp, body: header.body };
    const reader = new FlvReader({ previousTagSize: 'ignore' });
    reader.push(SYNTHETIC_HEADER);
    for await (const chunk of createReadStream(this.#path, {
      start: point.offset,
      highWaterMark: READ_CHUNK,
    })) {
      for (const tag of reader.push(chunk as Buffer)) {
        // The file's own onMetaData went first, with the duration.
        if (tag.type === 18 && isOnMetaData(tag.body)) continue;
        if (tag.type === 8 || tag.type === 9 || tag.type === 18) {
          yield { type: tag.type, timestamp: tag.timestamp, body: tag.body };
        }
      }
    }
  }

  close(): void {
    // Nothing held open: each play reads the file on its own.
  }
}
