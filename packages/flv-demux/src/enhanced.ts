import type { ByteReader } from './bytes.js';
import { AvMultitrackType } from './codecs.js';
import { FlvError } from './errors.js';

/**
 * The Enhanced RTMP header parts that audio and video tags share (ModEx blocks, the multitrack byte, the per-track
 * FourCC/track id/size framing); each tag parser keeps what is its own (packet types, frame types, CTS).
 * @internal
 */

/** Reads one ModEx block: size, data, then modExType << 4 | next packet type. */
export function readModEx(r: ByteReader): { modExType: number; packetType: number; nano: number } {
  let size = r.u8() + 1;
  if (size === 256) size = r.u16() + 1;
  const data = r.view(size);
  const b = r.u8();
  const nano = data.length >= 3 ? (data[0]! << 16) | (data[1]! << 8) | data[2]! : 0;
  return { modExType: b >> 4, packetType: b & 15, nano };
}

/** Follows ModEx blocks while `packetType` is `modEx`; keeps a TimestampOffsetNano (ModEx type 0). */
export function readModExChain(
  r: ByteReader,
  packetType: number,
  modEx: number,
): { packetType: number; timestampOffsetNano: number } {
  let timestampOffsetNano = 0;
  while (packetType === modEx) {
    const mod = readModEx(r);
    packetType = mod.packetType;
    if (mod.modExType === 0) timestampOffsetNano = mod.nano;
  }
  return { packetType, timestampOffsetNano };
}

/**
 * When `packetType` is the kind's `multitrack` value, reads the multitrack byte (mode << 4 | inner packet type);
 * `multitrackType` is null otherwise.
 */
export function readMultitrack(
  r: ByteReader,
  packetType: number,
  multitrack: number,
  kind: 'audio' | 'video',
): { packetType: number; multitrackType: number | null } {
  if (packetType !== multitrack) return { packetType, multitrackType: null };
  const b = r.u8();
  const multitrackType = b >> 4;
  const inner = b & 15;
  if (inner === multitrack) {
    throw new FlvError('ERR_FLV_NESTED_MULTITRACK', `${kind} multitrack inside multitrack`, {
      offset: r.pos - 1,
    });
  }
  if (multitrackType > AvMultitrackType.ManyTracksManyCodecs) {
    throw new FlvError('ERR_FLV_UNKNOWN_MULTITRACK_TYPE', `${kind} multitrack type ${multitrackType}`, {
      offset: r.pos - 1,
    });
  }
  return { packetType: inner, multitrackType };
}

/**
 * Reads the track payloads that follow the headers: one FourCC for the tag (or one per track in ManyTracksManyCodecs),
 * then per track its id and a u24-sized payload (OneTrack: the rest of the body). Payloads are views of the body.
 */
export function readTracks(
  r: ByteReader,
  multitrackType: number | null,
  onTrack: (fourcc: string, track: number, data: Uint8Array) => void,
): void {
  let fourcc = '';
  if (multitrackType !== AvMultitrackType.ManyTracksManyCodecs) fourcc = r.fourcc();
  for (;;) {
    let track = 0;
    let data: Uint8Array;
    if (multitrackType !== null) {
      if (multitrackType === AvMultitrackType.ManyTracksManyCodecs) fourcc = r.fourcc();
      track = r.u8();
      data = multitrackType === AvMultitrackType.OneTrack ? r.rest() : r.view(r.u24());
    } else {
      data = r.rest();
    }
    onTrack(fourcc, track, data);
    if (multitrackType === null || multitrackType === AvMultitrackType.OneTrack || r.remaining === 0) return;
  }
}
