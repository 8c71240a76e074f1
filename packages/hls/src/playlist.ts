import type { HlsSegment } from './segmenter.js';

/** The URIs of a stream's resources, relative to its playlist. */
export interface HlsNames {
  init(version: number): string;
  segment(msn: number): string;
  part(sequence: number): string;
}

/** What a media playlist is made of: a {@link HlsSegmenter} is one. */
export interface MediaPlaylistSource {
  readonly segments: readonly HlsSegment[];
  readonly current: HlsSegment | null;
  readonly ended: boolean;
  readonly targetDuration: number;
  readonly nextPartSequence: number;
  readonly discontinuitySequence: number;
  readonly settings: { readonly window: number; readonly partTargetMs: number };
}

/** Options of {@link renderMediaPlaylist}. */
export interface MediaPlaylistOptions {
  /** LL-HLS tags: parts, preload hint, blocking reload (default true). False: a plain RFC 8216 playlist. */
  lowLatency?: boolean;
}

/** Seconds as the playlist writes them: enough decimals for 90 kHz and audio sample timescales. */
function seconds(value: number): string {
  return value.toFixed(5);
}

/** Quoted-string attribute value (RFC 8216bis 4.2): the URIs made here never hold a quote or a line break. */
function quoted(value: string): string {
  return `"${value}"`;
}

/**
 * `PART-HOLD-BACK` in seconds: three part targets, as RFC 8216bis recommends (it must be at least two), so that a
 * player starts three parts behind the live edge.
 */
export function partHoldBack(partTargetMs: number): number {
  return (3 * partTargetMs) / 1000;
}

/**
 * Renders the media playlist (RFC 8216bis) of a stream: `EXT-X-VERSION`, `TARGETDURATION`, `MEDIA-SEQUENCE`,
 * `DISCONTINUITY-SEQUENCE`, `MAP` (and again after each discontinuity), `PROGRAM-DATE-TIME` per segment, and for
 * LL-HLS `SERVER-CONTROL` (`CAN-BLOCK-RELOAD=YES`, `PART-HOLD-BACK`), `PART-INF`, the parts of the last segments
 * (those within three target durations of the live edge) and of the segment in progress, then `PRELOAD-HINT`; or
 * `ENDLIST` once the stream ended. Pure.
 */
export function renderMediaPlaylist(
  source: MediaPlaylistSource,
  names: HlsNames,
  options: MediaPlaylistOptions = {},
): string {
  const lowLatency = options.lowLatency ?? true;
  const listed = source.segments.slice(-source.settings.window);
  const current =
    lowLatency && source.current !== null && source.current.parts.length > 0 ? source.current : null;
  const first = listed[0] ?? current;
  const target = source.targetDuration;
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', `#EXT-X-TARGETDURATION:${target}`];
  if (lowLatency) {
    const partTarget = source.settings.partTargetMs / 1000;
    lines.push(
      `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${seconds(partHoldBack(source.settings.partTargetMs))}`,
      `#EXT-X-PART-INF:PART-TARGET=${seconds(partTarget)}`,
    );
  }
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}`);
  if (source.discontinuitySequence > 0)
    lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${source.discontinuitySequence}`);

  // Parts are listed for the segments that end within three target durations of the live edge, and for no more
  // than the last three segments, counting the one in progress (or the preload hint that starts the next one), as
  // hls-parser's reading of RFC 8216bis wants.
  const withParts = new Set<HlsSegment>();
  if (lowLatency) {
    let fromEdge = current?.duration ?? 0;
    for (let i = listed.length - 1; i >= 0 && fromEdge < 3 * target && withParts.size < 2; i--) {
      const segment = listed[i];
      if (segment === undefined) break;
      withParts.add(segment);
      fromEdge += segment.duration;
    }
  }

  let map = -1;
  const all = current === null ? listed : [...listed, current];
  // Every segment starts on a keyframe, unless one was cut for running too long without any.
  if (all.every((s) => s.parts[0]?.independent !== false)) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  for (const segment of all) {
    if (segment.discontinuity && segment !== first) lines.push('#EXT-X-DISCONTINUITY');
    if (segment.initVersion !== map) {
      map = segment.initVersion;
      lines.push(`#EXT-X-MAP:URI=${quoted(names.init(map))}`);
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTime).toISOString()}`);
    if (withParts.has(segment) || segment === current) {
      for (const part of segment.parts) {
        const independent = part.independent ? ',INDEPENDENT=YES' : '';
        lines.push(
          `#EXT-X-PART:DURATION=${seconds(part.duration)},URI=${quoted(names.part(part.sequence))}${independent}`,
        );
      }
    }
    if (segment.complete) lines.push(`#EXTINF:${seconds(segment.duration)},`, names.segment(segment.msn));
  }
  if (source.ended) lines.push('#EXT-X-ENDLIST');
  else if (lowLatency)
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI=${quoted(names.part(source.nextPartSequence))}`);
  return `${lines.join('\n')}\n`;
}

/** A blocking playlist request (`_HLS_msn`, `_HLS_part`), or why it is malformed. */
export type BlockingRequest =
  | { kind: 'none' }
  | { kind: 'block'; msn: number; part: number | null }
  | { kind: 'invalid'; reason: string };

const INTEGER = /^\d{1,15}$/;

/**
 * Reads the LL-HLS delivery directives of a playlist request's query (RFC 8216bis 6.2.5.2): `_HLS_msn=<M>` and
 * optionally `_HLS_part=<P>`. `_HLS_part` without `_HLS_msn`, or a value that is not a decimal integer, is
 * invalid (the server answers 400). Other parameters (`_HLS_skip`, the application's own) are ignored.
 */
export function parseBlockingRequest(query: URLSearchParams): BlockingRequest {
  const msn = query.get('_HLS_msn');
  const part = query.get('_HLS_part');
  if (msn === null) {
    return part === null ? { kind: 'none' } : { kind: 'invalid', reason: '_HLS_part without _HLS_msn' };
  }
  if (!INTEGER.test(msn)) return { kind: 'invalid', reason: `_HLS_msn "${msn}" is not a decimal integer` };
  if (part !== null && !INTEGER.test(part))
    return { kind: 'invalid', reason: `_HLS_part "${part}" is not a decimal integer` };
  return { kind: 'block', msn: Number(msn), part: part === null ? null : Number(part) };
}

/**
 * Whether the playlist already holds what a blocking request waits for: segment `msn` complete (no part asked),
 * or its part `part`. A part index past the last part of a complete segment is, as RFC 8216bis 6.2.5.2 says, a
 * request for part 0 of the next segment. Always true once the stream ended.
 */
export function blockingSatisfied(source: MediaPlaylistSource, msn: number, part: number | null): boolean {
  if (source.ended) return true;
  const live = source.current;
  const liveMsn = live?.msn ?? (source.segments.at(-1)?.msn ?? -1) + 1;
  if (part === null) return msn < liveMsn;
  if (msn < liveMsn) {
    const segment = source.segments.find((s) => s.msn === msn);
    if (segment === undefined || segment.parts.length > part) return true;
    return blockingSatisfied(source, msn + 1, 0);
  }
  return live !== null && msn === live.msn && live.parts.length > part;
}
