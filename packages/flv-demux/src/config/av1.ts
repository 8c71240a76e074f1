import { ByteReader } from '../bytes.js';
import { FlvError } from '../errors.js';
import { asConfigError } from './avc.js';
import type { CodecInfo } from './info.js';

/**
 * Summary and RFC 6381 string (`av01.P.LLT.DD`) of an AV1CodecConfigurationRecord (av1C).
 * @throws {FlvError} `ERR_FLV_INVALID_CONFIG` when malformed.
 */
export function av1Info(bytes: Uint8Array): CodecInfo {
  try {
    const r = new ByteReader(bytes, 'av1C');
    const b0 = r.u8();
    if (b0 !== 0x81) throw new FlvError('ERR_FLV_INVALID_CONFIG', 'av1C marker/version', 0);
    const b1 = r.u8();
    const b2 = r.u8();
    const profile = b1 >> 5;
    const level = b1 & 31;
    const tier = b2 >> 7;
    const highBitDepth = (b2 >> 6) & 1;
    const twelveBit = (b2 >> 5) & 1;
    const mono = (b2 >> 4) & 1;
    const ssx = (b2 >> 3) & 1;
    const ssy = (b2 >> 2) & 1;
    const bitDepth = highBitDepth ? (twelveBit ? 12 : 10) : 8;
    const chromaFormat = mono ? 0 : ssx && ssy ? 1 : ssx ? 2 : 3;
    return {
      codecString: `av01.${profile}.${String(level).padStart(2, '0')}${tier ? 'H' : 'M'}.${String(bitDepth).padStart(2, '0')}`,
      profile,
      level,
      bitDepth,
      chromaFormat,
    };
  } catch (e) {
    throw asConfigError(e, 'av1C');
  }
}

/**
 * Summary and RFC 6381 string (`vp09.PP.LL.DD`) of a VP codec configuration record (vpcC), with or without the
 * 4-byte version/flags prefix FFmpeg writes.
 * @throws {FlvError} `ERR_FLV_INVALID_CONFIG` when malformed.
 */
export function vp9Info(bytes: Uint8Array): CodecInfo {
  try {
    let b = bytes;
    if (b.length >= 12 && b[0] === 1 && b[1] === 0 && b[2] === 0 && b[3] === 0) b = b.subarray(4);
    const r = new ByteReader(b, 'vpcC');
    const profile = r.u8();
    const level = r.u8();
    const b2 = r.u8();
    const bitDepth = b2 >> 4;
    const chroma = (b2 >> 1) & 7;
    const p2 = (n: number) => String(n).padStart(2, '0');
    return {
      codecString: `vp09.${p2(profile)}.${p2(level)}.${p2(bitDepth)}`,
      profile,
      level,
      bitDepth,
      chromaFormat: chroma <= 1 ? 1 : chroma === 2 ? 2 : 3,
    };
  } catch (e) {
    throw asConfigError(e, 'vpcC');
  }
}
