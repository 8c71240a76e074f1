import { Buffer } from 'node:buffer';
import { encodeMessage, type RtmpMessage } from '@rtmp/chunk';

/** One message as the relay keeps it: its single encoding per (stream id, chunk size) is shared by every player. */
export interface RelayItem {
  message: RtmpMessage;
  csid: number;
  keyframe: boolean;
  bytes: number;
  // The encoding for the first (stream id, chunk size) seen: in practice every player shares it, so the common
  // path looks it up with two comparisons and no per-player key.
  streamId: number;
  chunkSize: number;
  /** The chunk-encoded wire bytes (headers and payload) as one Buffer, in a one-element list for writeEncoded. */
  wire: readonly Buffer[] | undefined;
  /** Encodings for other (stream id, chunk size) pairs, keyed by `streamId * 2^32 + chunkSize`; built lazily. */
  others: Map<number, readonly Buffer[]> | undefined;
}

/** A new item for `message`, not encoded yet. */
export function relayItem(message: RtmpMessage, csid: number, keyframe: boolean): RelayItem {
  return {
    message,
    csid,
    keyframe,
    bytes: message.payload.byteLength,
    streamId: 0,
    chunkSize: 0,
    wire: undefined,
    others: undefined,
  };
}

/**
 * The shared chunk encoding of `entry` for one (stream id, chunk size): encoded once, reused by every player.
 *
 * The header and payload slices are joined into one contiguous Buffer here, once per message: every player then
 * costs one `socket.write` of one Buffer instead of a cork, a write per slice (a 30 KB keyframe at 4 KiB chunks
 * is 16 slices) and a `writev`. One payload copy per message buys that for all players; the profile of 200
 * players showed the per-slice stream bookkeeping as the largest cost of fan-out.
 */
export function encodingFor(entry: RelayItem, streamId: number, chunkSize: number): readonly Buffer[] {
  if (entry.wire === undefined) {
    entry.streamId = streamId;
    entry.chunkSize = chunkSize;
    entry.wire = wireBytes(entry, streamId, chunkSize);
    return entry.wire;
  }
  if (entry.streamId === streamId && entry.chunkSize === chunkSize) return entry.wire;
  const key = streamId * 0x1_0000_0000 + chunkSize;
  entry.others ??= new Map();
  let wire = entry.others.get(key);
  if (!wire) {
    wire = wireBytes(entry, streamId, chunkSize);
    entry.others.set(key, wire);
  }
  return wire;
}

function wireBytes(entry: RelayItem, streamId: number, chunkSize: number): readonly Buffer[] {
  const slices = encodeMessage({ ...entry.message, streamId }, entry.csid, chunkSize);
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
