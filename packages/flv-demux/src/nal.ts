import { FlvError } from './errors.js';

/**
 * Splits length-prefixed NAL units (AVCC/HVCC form) into zero-copy views of `data`.
 * @throws {FlvError} `ERR_FLV_NAL_LENGTH` when a length prefix runs past the end of the data.
 */
export function splitNalUnits(data: Uint8Array, lengthSize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const end = data.length;
  let p = 0;
  while (p < end) {
    if (p + lengthSize > end) {
      throw new FlvError('ERR_FLV_NAL_LENGTH', `NAL length prefix truncated at ${p}`, { offset: p });
    }
    let n = 0;
    for (let i = 0; i < lengthSize; i++) n = n * 256 + data[p + i]!;
    p += lengthSize;
    if (n > end - p)
      throw new FlvError('ERR_FLV_NAL_LENGTH', `NAL unit of ${n} bytes overruns the tag at ${p}`, {
        offset: p,
      });
    out.push(data.subarray(p, p + n));
    p += n;
  }
  return out;
}

/** Builds the length prefixes for `nalus` into one small buffer and returns the interleaved pieces (no payload copy). */
export function prefixNalUnits(nalus: readonly Uint8Array[], lengthSize: number): Uint8Array[] {
  const prefixes = new Uint8Array(nalus.length * lengthSize);
  const out: Uint8Array[] = [];
  const max = 2 ** (8 * lengthSize);
  for (let i = 0; i < nalus.length; i++) {
    const nal = nalus[i]!;
    if (nal.length >= max) {
      throw new FlvError(
        'ERR_FLV_INVALID_ARGUMENT',
        `NAL unit of ${nal.length} bytes needs more than ${lengthSize}`,
      );
    }
    let n = nal.length;
    for (let j = lengthSize - 1; j >= 0; j--) {
      prefixes[i * lengthSize + j] = n & 0xff;
      n = Math.floor(n / 256);
    }
    out.push(prefixes.subarray(i * lengthSize, (i + 1) * lengthSize), nal);
  }
  return out;
}
