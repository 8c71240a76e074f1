import { Buffer } from 'node:buffer';
import { encodeMessage, type RtmpMessage } from '@rtmp/chunk';
import type { TagClass, TagTrack } from '@rtmp/flv-demux';
import type { RelayItem, RelayItemKind } from './types.js';

const NO_TRACKS: readonly TagTrack[] = Object.freeze([]);

/** FLV tag header (11 bytes) + PreviousTagSize (4 bytes) around the body. */
const FLV_TAG_OVERHEAD = 15;

/**
 * One message as the relay keeps it, with its serializations built on first use and shared by every subscriber:
 * the chunk encoding per (stream id, chunk size) and the FLV tag.
 */
export class SharedItem implements RelayItem {
  readonly message: RtmpMessage;
  readonly chunkStreamId: number;
  readonly keyframe: boolean;
  readonly tagClass: TagClass | undefined;
  /** Payload bytes, as drops and the GOP limit count them. */
  readonly bytes: number;
  // The encoding for the first (stream id, chunk size) asked for: in practice every player shares it, so the common
  // path looks it up with two comparisons and no per-player key.
  #streamId = 0;
  #chunkSize = 0;
  #wire: readonly Buffer[] | undefined;
  /** Encodings for other (stream id, chunk size) pairs, keyed by `streamId * 2^32 + chunkSize`; built lazily. */
  #others: Map<number, readonly Buffer[]> | undefined;
  #flv: Buffer | undefined;

  constructor(message: RtmpMessage, chunkStreamId: number, tagClass: TagClass | undefined) {
    this.message = message;
    this.chunkStreamId = chunkStreamId;
    this.tagClass = tagClass;
    this.keyframe = tagClass !== undefined && tagClass.kind === 'keyframe';
    this.bytes = message.payload.byteLength;
  }

  get kind(): RelayItemKind {
    return this.tagClass === undefined ? 'data' : this.tagClass.kind;
  }

  get tracks(): readonly TagTrack[] {
    return this.tagClass === undefined ? NO_TRACKS : this.tagClass.tracks;
  }

  /**
   * The shared chunk encoding for one (stream id, chunk size): encoded once, reused by every player.
   *
   * The header and payload slices are joined into one contiguous Buffer here, once per message: every player then
   * costs one `socket.write` of one Buffer instead of a cork, a write per slice (a 30 KB keyframe at 4 KiB chunks
   * is 16 slices) and a `writev`. One payload copy per message buys that for all players; the profile of 200
   * players showed the per-slice stream bookkeeping as the largest cost of fan-out.
   */
  rtmpChunks(streamId: number, chunkSize: number): readonly Buffer[] {
    if (this.#wire === undefined) {
      this.#streamId = streamId;
      this.#chunkSize = chunkSize;
      this.#wire = this.#encode(streamId, chunkSize);
      return this.#wire;
    }
    if (this.#streamId === streamId && this.#chunkSize === chunkSize) return this.#wire;
    const key = streamId * 0x1_0000_0000 + chunkSize;
    this.#others ??= new Map();
    let wire = this.#others.get(key);
    if (!wire) {
      wire = this.#encode(streamId, chunkSize);
      this.#others.set(key, wire);
    }
    return wire;
  }

  flvTag(): Buffer {
    if (this.#flv !== undefined) return this.#flv;
    const { type, timestamp, payload } = this.message;
    // RTMP message lengths are 24-bit, as FLV's DataSize: every message fits a tag.
    const size = payload.byteLength;
    const tag = Buffer.allocUnsafe(size + FLV_TAG_OVERHEAD);
    tag[0] = type;
    tag[1] = (size >>> 16) & 0xff;
    tag[2] = (size >>> 8) & 0xff;
    tag[3] = size & 0xff;
    // Timestamp: the low 24 bits, then the extended (high) byte; the stream id is always 0.
    tag[4] = (timestamp >>> 16) & 0xff;
    tag[5] = (timestamp >>> 8) & 0xff;
    tag[6] = timestamp & 0xff;
    tag[7] = (timestamp >>> 24) & 0xff;
    tag[8] = 0;
    tag[9] = 0;
    tag[10] = 0;
    tag.set(payload, 11);
    tag.writeUInt32BE(size + 11, size + 11);
    this.#flv = tag;
    return tag;
  }

  #encode(streamId: number, chunkSize: number): readonly Buffer[] {
    const slices = encodeMessage({ ...this.message, streamId }, this.chunkStreamId, chunkSize);
    let length = 0;
    for (const slice of slices) length += slice.byteLength;
    const wire = Buffer.allocUnsafe(length);
    let at = 0;
    for (const slice of slices) {
      wire.set(slice, at);
      at += slice.byteLength;
    }
    return [wire];
  }
}
