import { FlvReader } from '@rtmp/flv-demux';
import { readFixture } from '@rtmp/testing';
import * as HLS from 'hls-parser';
import type { HlsNames } from '../src/index.js';

/** A tag of a fixture: what a relay subscriber gets as messages. */
export interface FixtureTag {
  type: 8 | 9 | 18;
  timestamp: number;
  body: Uint8Array;
}

/** The audio, video and data tags of an FLV fixture, in file order. */
export function fixtureTags(name = 'small_h264_aac.flv'): FixtureTag[] {
  const tags: FixtureTag[] = [];
  for (const tag of new FlvReader().push(readFixture(name))) {
    if (tag.type === 8 || tag.type === 9 || tag.type === 18)
      tags.push({ type: tag.type, timestamp: tag.timestamp, body: tag.body });
  }
  return tags;
}

/**
 * The fixture played `loops` times back to back, each loop's timestamps moved by 4.1 s, with
 * the sequence headers and metadata sent once: a longer live stream on one timeline.
 */
export function loopedTags(loops: number, name = 'small_h264_aac.flv'): FixtureTag[] {
  const tags = fixtureTags(name);
  // The fixture ends with an AVC end of sequence: sent once, at the end.
  const isEnd = (t: FixtureTag) => t.type === 9 && t.body[1] === 2;
  const media = tags.filter((t) => t.type !== 18 && !isConfig(t) && !isEnd(t));
  const length = 4100; // past the last audio frame (4074 ms): no timestamp goes back
  const out = tags.filter((t) => t.type === 18 || isConfig(t));
  for (let i = 0; i < loops; i++) {
    for (const t of media) out.push({ ...t, timestamp: t.timestamp + i * length });
  }
  for (const t of tags.filter(isEnd)) out.push({ ...t, timestamp: t.timestamp + (loops - 1) * length });
  return out;
}

/** A sequence header (AVC or AAC packet type 0). */
export function isConfig(tag: FixtureTag): boolean {
  return (tag.type === 9 || tag.type === 8) && tag.body[1] === 0;
}

/** Plain names for tests. */
export const NAMES: HlsNames = {
  init: (v) => `init${v}.mp4`,
  segment: (m) => `s${m}.m4s`,
  part: (p) => `p${p}.m4s`,
};

HLS.setOptions({ strictMode: true });

/**
 * Parses a media playlist with hls-parser in strict mode (it throws on what RFC 8216bis forbids), so every playlist
 * the tests see is checked by a parser we did not write.
 */
export function parseMediaPlaylist(text: string): HLS.types.MediaPlaylist {
  const playlist = HLS.parse(text);
  if (playlist.isMasterPlaylist) throw new Error('expected a media playlist');
  return playlist;
}

/** One track's run in a CMAF fragment, in seconds of decode time. */
export interface TrackSpan {
  kind: 'video' | 'audio';
  start: number;
  end: number;
  samples: number;
  timescale: number;
}

/** The boxes directly inside `bytes[from, to)`: type and the range of their payload. */
function* boxes(bytes: Uint8Array, from = 0, to = bytes.length): Generator<[string, number, number]> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = from; p + 8 <= to; ) {
    const size = view.getUint32(p);
    if (size < 8 || p + size > to) throw new Error(`bad box size ${size} at ${p}`);
    yield [String.fromCharCode(...bytes.subarray(p + 4, p + 8)), p + 8, p + size];
    p += size;
  }
}

function child(bytes: Uint8Array, type: string, from: number, to: number): [number, number] {
  for (const [t, start, end] of boxes(bytes, from, to)) if (t === type) return [start, end];
  throw new Error(`no ${type} box`);
}

/**
 * Reads, independently of the writer, the decode time span of each track in CMAF fragments (each `moof`'s `tfhd`,
 * `tfdt`, `trun`, ISO/IEC 14496-12), with the kinds and timescales of their init segment (`moov`: `tkhd`, `mdhd`,
 * `hdlr`).
 */
export function fixtureSpans(init: Uint8Array, fragment: Uint8Array): TrackSpan[] {
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const iv = view(init);
  const tracks = new Map<number, { kind: 'video' | 'audio'; timescale: number }>();
  const [moovStart, moovEnd] = child(init, 'moov', 0, init.length);
  for (const [type, start, end] of boxes(init, moovStart, moovEnd)) {
    if (type !== 'trak') continue;
    const [tkhd] = child(init, 'tkhd', start, end);
    const id = iv.getUint32(tkhd + (init[tkhd] === 1 ? 20 : 12));
    const [mdiaStart, mdiaEnd] = child(init, 'mdia', start, end);
    const [mdhd] = child(init, 'mdhd', mdiaStart, mdiaEnd);
    const timescale = iv.getUint32(mdhd + (init[mdhd] === 1 ? 20 : 12));
    const [hdlr] = child(init, 'hdlr', mdiaStart, mdiaEnd);
    const handler = String.fromCharCode(...init.subarray(hdlr + 8, hdlr + 12));
    tracks.set(id, { kind: handler === 'vide' ? 'video' : 'audio', timescale });
  }
  const fv = view(fragment);
  const spans = new Map<number, TrackSpan>();
  for (const [top, moofStart, moofEnd] of boxes(fragment)) {
    if (top !== 'moof') continue;
    for (const [type, start, end] of boxes(fragment, moofStart, moofEnd)) {
      if (type !== 'traf') continue;
      const [tfhd] = child(fragment, 'tfhd', start, end);
      const tfhdFlags = fv.getUint32(tfhd) & 0xff_ffff;
      const id = fv.getUint32(tfhd + 4);
      const track = tracks.get(id);
      if (track === undefined) throw new Error('a traf of a track the init segment does not have');
      const p = tfhd + 8 + (tfhdFlags & 0x01 ? 8 : 0) + (tfhdFlags & 0x02 ? 4 : 0);
      const defaultDuration = tfhdFlags & 0x08 ? fv.getUint32(p) : 0;
      const [tfdt] = child(fragment, 'tfdt', start, end);
      const base =
        fragment[tfdt] === 1
          ? fv.getUint32(tfdt + 4) * 2 ** 32 + fv.getUint32(tfdt + 8)
          : fv.getUint32(tfdt + 4);
      const [trun] = child(fragment, 'trun', start, end);
      const trunFlags = fv.getUint32(trun) & 0xff_ffff;
      const count = fv.getUint32(trun + 4);
      let q = trun + 8 + (trunFlags & 0x01 ? 4 : 0) + (trunFlags & 0x04 ? 4 : 0);
      let duration = 0;
      for (let i = 0; i < count; i++) {
        duration += trunFlags & 0x100 ? fv.getUint32(q) : defaultDuration;
        for (const flag of [0x100, 0x200, 0x400, 0x800]) if (trunFlags & flag) q += 4;
      }
      // A segment is its parts' fragments one after the other: a track spans from its first run to its last.
      const span = spans.get(id) ?? { ...track, start: base / track.timescale, end: 0, samples: 0 };
      span.end = (base + duration) / track.timescale;
      span.samples += count;
      spans.set(id, span);
    }
  }
  return [...spans.values()];
}
