import { readFileSync } from 'node:fs';

/** One tag of an FLV file as {@link parseFlvTags} returns it. */
export interface RawFlvTag {
  /** 8 audio, 9 video, 18 script data. */
  type: number;
  /** Milliseconds (32-bit, extended byte included). */
  timestamp: number;
  /** The tag body: a view into the input. */
  body: Buffer;
}

/**
 * The tags of a whole FLV file: a deliberately minimal reader, independent of `@rtmp/flv-demux` (the code under
 * test elsewhere), for trusted input; a truncated last tag ends the list.
 */
export function parseFlvTags(bytes: Uint8Array): RawFlvTag[] {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.length < 9 || data.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV file');
  const tags: RawFlvTag[] = [];
  let offset = data.readUInt32BE(5) + 4;
  while (offset + 11 <= data.length) {
    const type = data.readUInt8(offset) & 0x1f;
    const size = data.readUIntBE(offset + 1, 3);
    const timestamp = (data.readUIntBE(offset + 4, 3) | (data.readUInt8(offset + 7) << 24)) >>> 0;
    const start = offset + 11;
    if (start + size > data.length) break;
    tags.push({ type, timestamp, body: data.subarray(start, start + size) });
    offset = start + size + 4;
  }
  return tags;
}

/** {@link parseFlvTags} of a file. */
export function readFlvFile(file: string): RawFlvTag[] {
  return parseFlvTags(readFileSync(file));
}
