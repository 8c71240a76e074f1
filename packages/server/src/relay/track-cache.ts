import type { AudioCodec, TagClass, VideoCodec } from '@rtmp/flv-demux';
import type { SharedItem } from './item.js';

/**
 * Most (track, codec) entries cached per media type. Track ids go up to 255; real multitrack streams have a few, so
 * this bounds what a hostile publisher can make the relay keep (entries past it are forwarded, not cached) at about
 * what the relay kept before it knew tracks (16 headers per media type).
 */
export const MAX_CACHED_TRACKS = 16;

/** A cached message and when it arrived (replay keeps the publisher's order within each group). */
interface Cached {
  item: SharedItem;
  seq: number;
}

/** What one track of one codec needs replayed. */
interface TrackEntry {
  track: number;
  codec: VideoCodec | AudioCodec | null;
  /** The sequence header (legacy), SequenceStart or MPEG2TSSequenceStart. */
  config: Cached | undefined;
  /** Video: its Metadata packet (colorInfo); audio: its MultichannelConfig. */
  extra: Cached | undefined;
}

/**
 * The relay's configuration cache of one stream, keyed by (track id, codec) per media type: what a player joining
 * late must get before media. A new sequence header of a track replaces the previous one (and drops entries of
 * other codecs on that track: the codec changed); a Metadata packet or MultichannelConfig replaces the previous one
 * of its (track, codec); an end of sequence removes every entry of its track. Legacy tags are track 0, so legacy
 * H.264 + AAC keeps exactly one video and one audio header, as before.
 */
export class TrackCache {
  readonly #video: TrackEntry[] = [];
  readonly #audio: TrackEntry[] = [];
  #seq = 0;

  /** Entries held (for tests and stats). */
  get size(): number {
    return this.#video.length + this.#audio.length;
  }

  /**
   * Files a message classified `config`, `metadata` or `sequenceEnd` (other kinds are ignored). Returns true when
   * it changes the configuration a video track already had (a sequence header with other bytes or another codec,
   * an end of sequence): frames cached so far no longer decode with what a late joiner would be given.
   */
  update(c: TagClass, item: SharedItem): boolean {
    const entries = c.media === 'video' ? this.#video : this.#audio;
    let changed = false;
    if (c.kind === 'sequenceEnd') {
      for (const { track } of c.tracks) {
        for (let i = entries.length - 1; i >= 0; i--) {
          const entry = entries[i]!;
          if (entry.track !== track) continue;
          if (entry.config !== undefined) changed = true;
          entries.splice(i, 1);
        }
      }
      return changed && c.media === 'video';
    }
    if (c.kind !== 'config' && c.kind !== 'metadata') return false;
    // Audio MultichannelConfig (packet type 4) sits beside the sequence start, as colorInfo does for video.
    const extra = c.kind === 'metadata' || (c.media === 'audio' && c.packetType === 4);
    const cached: Cached = { item, seq: this.#seq++ };
    for (const { track, codec } of c.tracks) {
      if (!extra) {
        // A sequence header of another codec on this track: the codec changed, the old entries go.
        for (let i = entries.length - 1; i >= 0; i--) {
          const entry = entries[i]!;
          if (entry.track !== track || entry.codec === codec) continue;
          if (entry.config !== undefined) changed = true;
          entries.splice(i, 1);
        }
      }
      let entry = entries.find((e) => e.track === track && e.codec === codec);
      if (entry === undefined) {
        if (entries.length >= MAX_CACHED_TRACKS) continue;
        entry = { track, codec, config: undefined, extra: undefined };
        entries.push(entry);
      }
      if (extra) {
        entry.extra = cached;
      } else {
        const before = entry.config?.item.message.payload;
        if (before !== undefined && !sameBytes(before, item.message.payload)) changed = true;
        entry.config = cached;
      }
    }
    return changed && c.media === 'video';
  }

  /**
   * Calls `visit` with what a late joiner needs, each message once, in a stable order: video sequence headers,
   * video Metadata (colorInfo), audio sequence headers, audio MultichannelConfigs; within each group in the order the
   * publisher sent them (so a header that replaced part of an earlier multitrack one still comes after it).
   */
  replay(visit: (item: SharedItem) => void): void {
    const seen = new Set<SharedItem>();
    const group = (entries: TrackEntry[], pick: (e: TrackEntry) => Cached | undefined) => {
      const list: Cached[] = [];
      for (const entry of entries) {
        const cached = pick(entry);
        if (cached !== undefined) list.push(cached);
      }
      list.sort((a, b) => a.seq - b.seq);
      for (const { item } of list) {
        if (seen.has(item)) continue;
        seen.add(item);
        visit(item);
      }
    };
    group(this.#video, (e) => e.config);
    group(this.#video, (e) => e.extra);
    group(this.#audio, (e) => e.config);
    group(this.#audio, (e) => e.extra);
  }

  /** Forgets everything (the publisher left). */
  clear(): void {
    this.#video.length = 0;
    this.#audio.length = 0;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
