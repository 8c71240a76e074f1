import { prefixNalUnits } from '@rtmp/flv-demux';
import { Mp4Error } from '../errors.js';

/** A sample's bytes as the mdat carries them, and their total length. */
export interface SampleData {
  data: Uint8Array | Uint8Array[];
  size: number;
}

/**
 * The bytes of an AVC/HEVC sample in the length-prefixed form of its configuration record (`lengthSize` bytes per
 * prefix), from the NAL unit views the demuxer gives.
 *
 * FLV already carries this form, and the demuxer's views point into the message body: when the views sit back to
 * back in one buffer, each preceded by its own length in `lengthSize` bytes, the sample is that one span of the
 * body (no copy, no new buffer; checked per NAL unit, never per byte). Otherwise (NAL units from elsewhere) the
 * prefixes are written into one small buffer and interleaved with the views, still without copying a payload.
 * @throws {Mp4Error} `ERR_MP4_NAL_LENGTH` when a NAL unit is too long for `lengthSize`.
 */
export function lengthPrefixed(nalus: readonly Uint8Array[], lengthSize: number): SampleData {
  const n = nalus.length;
  if (n === 0) return { data: EMPTY, size: 0 };
  const first = nalus[0]!;
  const buffer = first.buffer;
  let contiguous = first.byteOffset >= lengthSize;
  let size = 0;
  let expected = first.byteOffset;
  for (let i = 0; i < n; i++) {
    const nal = nalus[i]!;
    size += lengthSize + nal.length;
    if (!contiguous) continue;
    if (nal.buffer !== buffer || nal.byteOffset !== expected || !prefixMatches(nal, lengthSize))
      contiguous = false;
    expected = nal.byteOffset + nal.length + lengthSize;
  }
  if (contiguous) return { data: new Uint8Array(buffer, first.byteOffset - lengthSize, size), size };
  return { data: prefixPieces(nalus, lengthSize), size };
}

const EMPTY = new Uint8Array(0);

/** Whether the `lengthSize` bytes before `nal` in its buffer hold its length. */
function prefixMatches(nal: Uint8Array, lengthSize: number): boolean {
  if (nal.byteOffset < lengthSize) return false;
  const before = new Uint8Array(nal.buffer, nal.byteOffset - lengthSize, lengthSize);
  let v = 0;
  for (let i = 0; i < lengthSize; i++) v = v * 256 + before[i]!;
  return v === nal.length;
}

function prefixPieces(nalus: readonly Uint8Array[], lengthSize: number): Uint8Array[] {
  // Checked here so that a NAL unit too long for the prefix is this package's error, not the demuxer's.
  const max = 2 ** (8 * lengthSize);
  for (const nal of nalus) {
    if (nal.length >= max) {
      throw new Mp4Error(
        'ERR_MP4_NAL_LENGTH',
        `a NAL unit of ${nal.length} bytes does not fit a ${lengthSize}-byte length prefix`,
      );
    }
  }
  return prefixNalUnits(nalus, lengthSize);
}
