import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  defaultHlsCodec,
  HLS_ERROR_CODES,
  HlsError,
  type HlsSegment,
  HlsSegmenter,
  type HlsSegmenterOptions,
  renderMediaPlaylist,
} from '../src/index.js';
import {
  type FixtureTag,
  fixtureSpans,
  fixtureTags,
  loopedTags,
  NAMES,
  parseMediaPlaylist,
} from './helpers.js';

function run(tags: readonly FixtureTag[], options: HlsSegmenterOptions = {}) {
  const playlists: string[] = [];
  const evicted: HlsSegment[] = [];
  const inits: number[] = [];
  const segmenter: HlsSegmenter = new HlsSegmenter({
    now: () => Date.UTC(2026, 0, 1),
    ...options,
    listener: {
      init: (version) => inits.push(version),
      part: () => playlists.push(renderMediaPlaylist(segmenter, NAMES)),
      segment: () => playlists.push(renderMediaPlaylist(segmenter, NAMES)),
      evict: (segment) => evicted.push(segment),
    },
  });
  for (const tag of tags) segmenter.push(tag.type, tag.timestamp, tag.body);
  return { segmenter, playlists, evicted, inits };
}

describe('HlsSegmenter', () => {
  it('cuts small_h264_aac.flv into one segment per GOP (2 s) and parts of at most 250 ms', () => {
    const { segmenter } = run(fixtureTags());
    segmenter.end();
    expect(segmenter.codecs).toEqual(['avc1.64000D', 'mp4a.40.2']);
    const segments = segmenter.segments;
    expect(segments.map((s) => s.msn)).toEqual([0, 1]);
    expect(segments.map((s) => s.startTime)).toEqual([0, 2]);
    expect(segments.map((s) => s.duration)).toEqual([2, 2]);
    for (const segment of segments) {
      const parts = segment.parts;
      // The first part of a segment starts on the keyframe; the GOP has no other keyframe.
      expect(parts.map((p) => p.independent)).toEqual(parts.map((_, i) => i === 0));
      expect(parts.map((p) => p.index)).toEqual(parts.map((_, i) => i));
      for (const part of parts) expect(part.duration).toBeLessThanOrEqual(0.25);
      // RFC 8216bis: every part but the last of its segment is at least 85 % of the part target.
      for (const part of parts.slice(0, -1)) expect(part.duration).toBeGreaterThanOrEqual(0.85 * 0.25);
      expect(segment.byteLength).toBe(parts.reduce((n, p) => n + p.bytes.byteLength, 0));
      // Parts follow one another on the timeline.
      for (let i = 1; i < parts.length; i++) {
        expect(parts[i]!.startTime).toBeCloseTo(parts[i - 1]!.startTime + parts[i - 1]!.duration, 6);
      }
    }
    // Part numbers run across segments (a preload hint never depends on where a segment ends).
    const sequences = segments.flatMap((s) => s.parts.map((p) => p.sequence));
    expect(sequences).toEqual(sequences.map((_, i) => i));
    expect(segmenter.stats).toMatchObject({ segments: 2, skippedSamples: 0, discontinuities: 0 });
  });

  it("every part's and segment's audio runs to the end of its video: no frame is held back to the next one", () => {
    // A sample's duration is known from the next one; the AAC frame that starts just before a cut used to wait for
    // the next part, so the audio of each part and segment ended up to one frame (23 ms) before the time the
    // playlist gives it, and hls.js in low-latency mode, finding the buffered end inside the segment it had just
    // appended, loaded that segment again and again (bufferAppendNoProgress).
    for (const tags of [fixtureTags(), fixtureTags('extended_ts_h264_aac.flv')]) {
      const { segmenter } = run(tags);
      const init = segmenter.init(0)!;
      const fragments = segmenter.segments.flatMap((s) => [s, ...s.parts]);
      expect(fragments.length).toBeGreaterThan(5);
      for (const fragment of fragments) {
        const bytes = 'bytes' in fragment ? fragment.bytes : concat(fragment.parts.map((p) => p.bytes));
        const spans = fixtureSpans(init, bytes);
        const video = spans.find((s) => s.kind === 'video')!;
        const audio = spans.find((s) => s.kind === 'audio')!;
        const end = fragment.startTime + fragment.duration;
        // #EXTINF and #EXT-X-PART:DURATION are the video's decode time span...
        expect(video.start).toBeCloseTo(fragment.startTime, 6);
        expect(video.end).toBeCloseTo(end, 6);
        // ...which the audio covers to its end, overrunning it by less than one AAC frame (1024 samples).
        const frame = 1024 / audio.timescale;
        expect(audio.end).toBeGreaterThanOrEqual(end - 1e-3);
        expect(audio.end).toBeLessThan(end + frame);
      }
    }
  });

  it('a track that lags behind holds a part back by one frame of the reference track at most', () => {
    // At each seam of the looped fixture the audio pauses (4074 ms, then 4157 ms), after the next keyframe (4100 ms).
    const made: { end: number; at: number }[] = [];
    let at = 0;
    const segmenter = new HlsSegmenter({
      listener: { part: (part) => made.push({ end: part.startTime + part.duration, at }) },
    });
    for (const tag of loopedTags(3)) {
      at = tag.timestamp;
      segmenter.push(tag.type, tag.timestamp, tag.body);
    }
    expect(made.length).toBeGreaterThan(40);
    // The fixture's frames are 40 ms apart: a part is made by the first audio frame at or after its end, or else by
    // the next video frame.
    for (const part of made) expect(part.at - part.end * 1000).toBeLessThanOrEqual(40);
    expect(made.some((part) => Math.abs(part.end * 1000 - 4100) < 1 && part.at === 4140)).toBe(true);
  });

  it('--hls-segment: a segment ends at the first keyframe at or after its duration', () => {
    const { segmenter } = run(loopedTags(3), { segmentDuration: 3 });
    segmenter.end();
    // Keyframes every 2 s (and at each loop start, 4.1 s): segments start on them once 3 s have passed.
    for (const segment of segmenter.segments.slice(0, -1)) expect(segment.duration).toBeGreaterThanOrEqual(3);
    expect(segmenter.targetDuration).toBe(Math.round(Math.max(...segmenter.segments.map((s) => s.duration))));
  });

  it('keeps a bounded window: evicted segments leave, the media sequence moves on', () => {
    const { segmenter, evicted } = run(loopedTags(6), { window: 3, retain: 1 });
    expect(segmenter.stats.segments).toBeGreaterThanOrEqual(10);
    expect(segmenter.segments).toHaveLength(4);
    expect(evicted.map((s) => s.msn)).toEqual(evicted.map((_, i) => i));
    const playlist = parseMediaPlaylist(renderMediaPlaylist(segmenter, NAMES));
    const listed = segmenter.segments.slice(-3);
    expect(playlist.mediaSequenceBase).toBe(listed[0]!.msn);
    expect(playlist.segments.filter((s) => s.uri !== undefined && s.duration > 0).map((s) => s.uri)).toEqual(
      expect.arrayContaining(listed.map((s) => `s${s.msn}.m4s`)),
    );
    // An evicted segment is no longer found.
    expect(segmenter.segment(0)).toBeUndefined();
    expect(segmenter.part(0)).toBeUndefined();
  });

  it('every playlist it makes, live and ended, parses in hls-parser (strict) with its LL-HLS tags', () => {
    const { segmenter, playlists } = run(loopedTags(2));
    segmenter.end();
    playlists.push(renderMediaPlaylist(segmenter, NAMES));
    expect(playlists.length).toBeGreaterThan(30);
    for (const text of playlists) {
      const playlist = parseMediaPlaylist(text);
      // The longest segment so far, rounded: 2 s GOPs once the first is complete (1 s, the minimum, before).
      expect(playlist.targetDuration).toBe(text.includes('#EXTINF') ? 2 : 1);
      expect(playlist.partTargetDuration).toBe(0.25);
      expect(playlist.lowLatencyCompatibility).toMatchObject({ canBlockReload: true, partHoldBack: 0.75 });
      const all = playlist.segments.flatMap((s) => s.parts ?? []);
      const parts = all.filter((p) => !p.hint);
      expect(parts.length).toBeGreaterThan(0);
      for (const part of parts) expect(part.duration).toBeLessThanOrEqual(0.25);
      // The preload hint: the next part, while live.
      expect(all.filter((p) => p.hint).length).toBe(playlist.endlist ? 0 : 1);
      // hls-parser gives the segment in progress (parts only) as a segment with an empty URI.
      for (const segment of playlist.segments.filter((s) => s.uri)) {
        expect(segment.programDateTime).toBeInstanceOf(Date);
        expect(segment.map?.uri).toBe('init0.mp4');
      }
    }
    const last = parseMediaPlaylist(playlists.at(-1)!);
    expect(last.endlist).toBe(true);
    expect(playlists.at(-1)).not.toContain('PRELOAD-HINT');
    const live = playlists.at(-2)!;
    expect(live).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p\d+\.m4s"\n$/);
  });

  it('program date times follow the media timeline from the first sample', () => {
    const { segmenter } = run(loopedTags(2), { now: () => Date.UTC(2026, 0, 1, 12) });
    const [first, second] = segmenter.segments;
    expect(first!.programDateTime).toBe(Date.UTC(2026, 0, 1, 12));
    expect(second!.programDateTime - first!.programDateTime).toBe(Math.round(first!.duration * 1000));
  });

  it('a timestamp jump (the key published again from 0) starts a new timeline: DISCONTINUITY and a new MAP', () => {
    const tags = fixtureTags();
    const { segmenter, inits } = run([...tags, ...tags]);
    segmenter.end();
    expect(segmenter.stats.discontinuities).toBe(1);
    expect(inits).toEqual([0, 1]);
    const text = renderMediaPlaylist(segmenter, NAMES);
    const playlist = parseMediaPlaylist(text);
    expect(playlist.segments.map((s) => s.discontinuity ?? false)).toEqual([false, false, true, false]);
    expect(playlist.segments.map((s) => s.map.uri)).toEqual([
      'init0.mp4',
      'init0.mp4',
      'init1.mp4',
      'init1.mp4',
    ]);
    expect(segmenter.segments[2]!.startTime).toBe(0);
  });

  it('leaves out the codecs HLS players do not take, and says so', () => {
    expect(defaultHlsCodec('video', 'vp9')).toBe(false);
    expect(defaultHlsCodec('video', 'av1')).toBe(true);
    expect(defaultHlsCodec('audio', 'opus')).toBe(true);
    expect(defaultHlsCodec('audio', 'mp3')).toBe(false);
    const { segmenter } = run(fixtureTags(), { acceptCodec: (media) => media === 'audio' });
    expect(segmenter.refused).toEqual(['avc video (track 0)']);
    // The audio alone makes the rendition: its parts follow the audio frames.
    expect(segmenter.codecs).toEqual(['mp4a.40.2']);
    expect(segmenter.segments.length).toBeGreaterThan(0);
  });

  it('muxes E-RTMP AV1 + Opus', () => {
    const { segmenter } = run(fixtureTags('enhanced/av1_opus_testsrc.flv'));
    segmenter.end();
    expect(segmenter.codecs).toEqual(expect.arrayContaining([expect.stringMatching(/^av01\./), 'opus']));
    expect(segmenter.segments.length).toBeGreaterThan(0);
    expect(segmenter.stats.skippedSamples).toBe(0);
  });

  it('rejects bad options with ERR_HLS_INVALID_OPTION', () => {
    for (const options of [
      { partTarget: 0 },
      { window: 0 },
      { segmentDuration: -1 },
      { partTarget: Number.NaN },
    ]) {
      expect(() => new HlsSegmenter(options)).toThrow(
        expect.objectContaining({ code: 'ERR_HLS_INVALID_OPTION' }),
      );
    }
    expect(new HlsError('ERR_HLS_MUX_FAILED', 'x')).toBeInstanceOf(HlsError);
  });

  it.each(HLS_ERROR_CODES)('%s is documented in the README', (code) => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\|`));
  });
});

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
