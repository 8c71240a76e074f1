import { type AmfValue, amfProperties, amfProperty, createAmfObject } from '@rtmp/amf';

/**
 * Enhanced RTMP v2 `capsEx` bits (its `CapsExMask`): extended capabilities one side states in `connect` (client) or in
 * the `_result` to it (server).
 */
export const CapsEx = {
  /** Reconnect requests: a server sends them, a client follows them. */
  Reconnect: 1,
  /** Multitrack audio and video (AvMultitrackType OneTrack, ManyTracks, ManyTracksManyCodecs). */
  Multitrack: 2,
  /** Parses the ModEx packet type (and skips modifiers it does not know). */
  ModEx: 4,
  /** The ModEx TimestampOffsetNano modifier: sub-millisecond timestamps. */
  TimestampNanoOffset: 8,
} as const;

/** Enhanced RTMP v2 `FourCcInfoMask`: the flags of a `videoFourCcInfoMap` / `audioFourCcInfoMap` entry. */
export const FourCcInfo = {
  CanDecode: 1,
  CanEncode: 2,
  CanForward: 4,
} as const;

/**
 * The Enhanced RTMP capabilities one side of a connection states: the client in its `connect` command object, the
 * server in the command object of its `_result`. A property that was not sent is absent. In the maps, the key `"*"`
 * stands for every codec (its flags add to a codec's own).
 */
export interface EnhancedRtmpCapabilities {
  /** The FourCCs supported (`"*"`: any), e.g. `['av01', 'hvc1', 'Opus']`. The v1 form; v2 prefers the maps. */
  readonly fourCcList?: readonly string[];
  /** Video FourCC (or `"*"`) -> {@link FourCcInfo} flags. */
  readonly videoFourCcInfoMap?: Readonly<Record<string, number>>;
  /** Audio FourCC (or `"*"`) -> {@link FourCcInfo} flags. */
  readonly audioFourCcInfoMap?: Readonly<Record<string, number>>;
  /** {@link CapsEx} bits. */
  readonly capsEx?: number;
}

/** Both sides' statements about one connection, once `connect` was answered. */
export interface NegotiatedEnhancedRtmp {
  /** What the client announced in `connect`; undefined when it sent nothing of E-RTMP (a legacy client). */
  readonly client: EnhancedRtmpCapabilities | undefined;
  /** What the server stated in its `_result`; undefined when it stated nothing of E-RTMP (a legacy server). */
  readonly server: EnhancedRtmpCapabilities | undefined;
  /** The {@link CapsEx} bits both stated: what the connection may rely on. */
  readonly capsEx: number;
}

/**
 * Most FourCCs read from one list or map. E-RTMP defines a dozen codecs; a peer's statement beyond this is
 * ignored past the limit rather than kept without bound.
 */
export const MAX_FOURCC_ENTRIES = 64;

/** A FourCC (four characters) or the wildcard `"*"`. */
function isFourCc(value: unknown): value is string {
  return typeof value === 'string' && (value.length === 4 || value === '*');
}

function isFlags(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

function readList(value: AmfValue | undefined): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const list: string[] = [];
  for (const entry of value) {
    if (list.length === MAX_FOURCC_ENTRIES) break;
    if (isFourCc(entry)) list.push(entry);
  }
  return list;
}

function readMap(value: AmfValue | undefined): Record<string, number> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const map: Record<string, number> = createAmfObject() as Record<string, number>;
  let count = 0;
  for (const [key, flags] of Object.entries(amfProperties(value))) {
    if (count === MAX_FOURCC_ENTRIES) break;
    if (isFourCc(key) && isFlags(flags)) {
      map[key] = flags;
      count++;
    }
  }
  return map;
}

/**
 * The Enhanced RTMP capabilities in a `connect` command object or in the command object of its `_result`
 * (`fourCcList`, `videoFourCcInfoMap`, `audioFourCcInfoMap`, `capsEx`); undefined when it has none of them. Lenient:
 * a property of the wrong type counts as absent, entries that are not a FourCC (or `"*"`) with integer flags are left
 * out, and at most {@link MAX_FOURCC_ENTRIES} are read per list or map. Never throws.
 */
export function readCapabilities(commandObject: AmfValue | undefined): EnhancedRtmpCapabilities | undefined {
  const fourCcList = readList(amfProperty(commandObject, 'fourCcList'));
  const videoFourCcInfoMap = readMap(amfProperty(commandObject, 'videoFourCcInfoMap'));
  const audioFourCcInfoMap = readMap(amfProperty(commandObject, 'audioFourCcInfoMap'));
  const capsEx = amfProperty(commandObject, 'capsEx');
  const capabilities: {
    fourCcList?: string[];
    videoFourCcInfoMap?: Record<string, number>;
    audioFourCcInfoMap?: Record<string, number>;
    capsEx?: number;
  } = {};
  if (fourCcList) capabilities.fourCcList = fourCcList;
  if (videoFourCcInfoMap) capabilities.videoFourCcInfoMap = videoFourCcInfoMap;
  if (audioFourCcInfoMap) capabilities.audioFourCcInfoMap = audioFourCcInfoMap;
  if (isFlags(capsEx)) capabilities.capsEx = capsEx;
  return Object.keys(capabilities).length === 0 ? undefined : capabilities;
}

/**
 * Writes `capabilities` into a command object (`connect`'s or `_result`'s), in the order of the spec's table:
 * `fourCcList`, `videoFourCcInfoMap`, `audioFourCcInfoMap`, `capsEx`. Absent properties are not written.
 */
export function writeCapabilities(
  commandObject: Record<string, AmfValue>,
  capabilities: EnhancedRtmpCapabilities,
): void {
  if (capabilities.fourCcList) commandObject.fourCcList = [...capabilities.fourCcList];
  if (capabilities.videoFourCcInfoMap) {
    commandObject.videoFourCcInfoMap = copyMap(capabilities.videoFourCcInfoMap);
  }
  if (capabilities.audioFourCcInfoMap) {
    commandObject.audioFourCcInfoMap = copyMap(capabilities.audioFourCcInfoMap);
  }
  if (capabilities.capsEx !== undefined) commandObject.capsEx = capabilities.capsEx;
}

function copyMap(map: Readonly<Record<string, number>>): Record<string, AmfValue> {
  const object = createAmfObject() as Record<string, AmfValue>;
  for (const [key, flags] of Object.entries(map)) object[key] = flags;
  return object;
}

/** The statements of both sides of a connection, and the {@link CapsEx} bits they share. */
export function negotiated(
  client: EnhancedRtmpCapabilities | undefined,
  server: EnhancedRtmpCapabilities | undefined,
): NegotiatedEnhancedRtmp {
  return { client, server, capsEx: ((client?.capsEx ?? 0) & (server?.capsEx ?? 0)) >>> 0 };
}

/**
 * The {@link FourCcInfo} flags a FourCC info map gives `fourCc`: its own entry with the wildcard `"*"` entry's flags
 * added (as the spec's example reads: `{"*": CanForward, vp09: CanDecode}` decodes and forwards VP9). 0 when
 * neither is there or there is no map.
 */
export function fourCcFlags(map: Readonly<Record<string, number>> | undefined, fourCc: string): number {
  if (!map) return 0;
  const own = Object.hasOwn(map, fourCc) ? (map[fourCc] ?? 0) : 0;
  const any = Object.hasOwn(map, '*') ? (map['*'] ?? 0) : 0;
  return (own | any) >>> 0;
}
