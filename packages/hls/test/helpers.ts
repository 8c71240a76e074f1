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
