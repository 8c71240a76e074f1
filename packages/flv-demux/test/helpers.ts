import { fromHex } from '@rtmp/testing';
import { type DemuxEvent, FlvReader, StreamDemuxer } from '../src/index.js';

/** Demuxes a whole FLV file, optionally fed in chunks of `split` bytes. */
export function demuxFile(
  bytes: Uint8Array,
  split = bytes.length,
): { events: DemuxEvent[]; demuxer: StreamDemuxer } {
  const reader = new FlvReader();
  const demuxer = new StreamDemuxer();
  const events: DemuxEvent[] = [];
  for (let i = 0; i < bytes.length; i += split) {
    for (const tag of reader.push(bytes.subarray(i, i + split))) {
      events.push(...demuxer.push(tag.type, tag.timestamp, tag.body));
    }
  }
  return { events, demuxer };
}

/** Bytes from hex text (separators ignored). */
export const hex = fromHex;

export function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

/** avcC of small_h264_aac.flv (High, 320x240, 4-byte NAL lengths). */
export const AVCC = hex(
  '0164000dffe100196764000dacd94141fb011000000300100000030320f142996001000468efbcb0fdf8f800',
);
/** A minimal hvcC: Main, level 3.1, 4:2:0 8-bit, 4-byte NAL lengths, no arrays. */
export const HVCC = hex('01 01 60000000 900000000000 5d f000 fc fd f8 f8 0000 0f 00');
