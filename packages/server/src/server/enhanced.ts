import { CapsEx, type EnhancedRtmpCapabilities, FourCcInfo, fourCcFlags, RtmpError } from '@rtmp/connection';
import { AUDIO_FOURCCS, VIDEO_FOURCCS } from '@rtmp/flv-demux';

/**
 * What the server states by default in its `_result` to a client that announced Enhanced RTMP: a relay forwards
 * every codec (`"*": CanForward` in both maps), lists every FourCC `@rtmp/flv-demux` knows in `fourCcList` (for
 * clients that read only the v1 list), and sets the `capsEx` bits it implements: Reconnect
 * (`ClientSession.requestReconnect`), Multitrack, ModEx and TimestampNanoOffset (the demuxer reads all three, and
 * `LiveRelay` forwards and caches them per track untouched).
 */
export const SERVER_CAPABILITIES: Required<EnhancedRtmpCapabilities> = Object.freeze({
  fourCcList: Object.freeze([...Object.keys(VIDEO_FOURCCS), ...Object.keys(AUDIO_FOURCCS)]),
  videoFourCcInfoMap: Object.freeze({ '*': FourCcInfo.CanForward }),
  audioFourCcInfoMap: Object.freeze({ '*': FourCcInfo.CanForward }),
  capsEx: CapsEx.Reconnect | CapsEx.Multitrack | CapsEx.ModEx | CapsEx.TimestampNanoOffset,
});

function invalid(what: string): RtmpError {
  return new RtmpError('ERR_RTMP_INVALID_OPTION', `option enhancedRtmp: ${what}`);
}

function isFourCc(key: string): boolean {
  return key.length === 4 || key === '*';
}

function checkMap(name: string, map: unknown): Readonly<Record<string, number>> {
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw invalid(`${name} must be an object`);
  const copy: Record<string, number> = Object.create(null);
  for (const [key, flags] of Object.entries(map)) {
    if (!isFourCc(key)) throw invalid(`${name} key "${key}" is not a FourCC or "*"`);
    if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
      throw invalid(`${name}.${key} must be an integer in 0..2^32-1`);
    }
    copy[key] = flags;
  }
  return Object.freeze(copy);
}

/**
 * Checks the server's `enhancedRtmp` option and returns a frozen copy (the default when undefined; false to state
 * nothing of E-RTMP).
 * @throws {RtmpError} `ERR_RTMP_INVALID_OPTION`
 */
export function checkCapabilities(
  option: EnhancedRtmpCapabilities | false | undefined,
): EnhancedRtmpCapabilities | false {
  if (option === undefined) return SERVER_CAPABILITIES;
  if (option === false) return false;
  if (typeof option !== 'object' || option === null) throw invalid('must be an object or false');
  const checked: {
    fourCcList?: readonly string[];
    videoFourCcInfoMap?: Readonly<Record<string, number>>;
    audioFourCcInfoMap?: Readonly<Record<string, number>>;
    capsEx?: number;
  } = {};
  if (option.fourCcList !== undefined) {
    const list = option.fourCcList;
    if (!Array.isArray(list) || !list.every((f) => typeof f === 'string' && isFourCc(f))) {
      throw invalid('fourCcList must be an array of FourCCs or "*"');
    }
    checked.fourCcList = Object.freeze([...list]);
  }
  if (option.videoFourCcInfoMap !== undefined) {
    checked.videoFourCcInfoMap = checkMap('videoFourCcInfoMap', option.videoFourCcInfoMap);
  }
  if (option.audioFourCcInfoMap !== undefined) {
    checked.audioFourCcInfoMap = checkMap('audioFourCcInfoMap', option.audioFourCcInfoMap);
  }
  if (option.capsEx !== undefined) {
    const caps = option.capsEx;
    if (!Number.isInteger(caps) || caps < 0 || caps > 0xffffffff) {
      throw invalid('capsEx must be an integer in 0..2^32-1');
    }
    checked.capsEx = caps;
  }
  return Object.freeze(checked);
}

/** `map` narrowed to what `limit` allows: the flags of each FourCC are those both give it (wildcards included). */
function narrowMap(
  map: Readonly<Record<string, number>>,
  limit: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  const add = (key: string, flags: number) => {
    if (flags !== 0) out[key] = ((out[key] ?? 0) | flags) >>> 0;
  };
  // Per FourCC, (own | wildcard) of one side AND (own | wildcard) of the other, spread back over own and wildcard
  // entries: own_a & flags_b, plus the other side's own entries under this side's wildcard, plus both wildcards.
  for (const key of Object.keys(map)) {
    if (key !== '*') add(key, map[key]! & fourCcFlags(limit, key));
  }
  const wildcard = Object.hasOwn(map, '*') ? map['*']! : 0;
  for (const key of Object.keys(limit)) {
    if (key !== '*') add(key, limit[key]! & wildcard);
  }
  add('*', wildcard & (Object.hasOwn(limit, '*') ? limit['*']! : 0));
  return out;
}

/**
 * What the server states when a handler's connect decision narrows its capabilities: what the handler asked for,
 * limited to what the server's own statement allows (a handler withdraws capabilities, it never adds one). A
 * property the handler leaves out is withdrawn; one the server does not state stays out.
 */
export function narrowCapabilities(
  server: EnhancedRtmpCapabilities,
  wanted: EnhancedRtmpCapabilities,
): EnhancedRtmpCapabilities {
  const narrowed: {
    fourCcList?: string[];
    videoFourCcInfoMap?: Record<string, number>;
    audioFourCcInfoMap?: Record<string, number>;
    capsEx?: number;
  } = {};
  if (wanted.fourCcList && server.fourCcList) {
    const allowed = server.fourCcList;
    narrowed.fourCcList = allowed.includes('*')
      ? [...wanted.fourCcList]
      : wanted.fourCcList.includes('*')
        ? [...allowed]
        : wanted.fourCcList.filter((fourCc) => allowed.includes(fourCc));
  }
  if (wanted.videoFourCcInfoMap && server.videoFourCcInfoMap) {
    narrowed.videoFourCcInfoMap = narrowMap(wanted.videoFourCcInfoMap, server.videoFourCcInfoMap);
  }
  if (wanted.audioFourCcInfoMap && server.audioFourCcInfoMap) {
    narrowed.audioFourCcInfoMap = narrowMap(wanted.audioFourCcInfoMap, server.audioFourCcInfoMap);
  }
  if (wanted.capsEx !== undefined && server.capsEx !== undefined) {
    narrowed.capsEx = (wanted.capsEx & server.capsEx) >>> 0;
  }
  return narrowed;
}
