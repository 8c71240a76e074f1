import { BitReader, ByteReader } from '../bytes.js';
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
    if (b0 !== 0x81) throw new FlvError('ERR_FLV_INVALID_CONFIG', 'av1C marker/version', { offset: 0 });
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
    const info: CodecInfo = {
      codecString: `av01.${profile}.${String(level).padStart(2, '0')}${tier ? 'H' : 'M'}.${String(bitDepth).padStart(2, '0')}`,
      profile,
      level,
      bitDepth,
      chromaFormat,
    };
    r.u8();
    const size = av1SequenceHeaderSize(r.rest());
    if (size !== null) {
      info.width = size.width;
      info.height = size.height;
    }
    return info;
  } catch (e) {
    throw asConfigError(e, 'av1C');
  }
}

/**
 * Finds the sequence header OBU among av1C's configOBUs and reads max_frame_width/height from it.
 * Returns null when there is none.
 */
export function av1SequenceHeaderSize(obus: Uint8Array): { width: number; height: number } | null {
  let p = 0;
  while (p < obus.length) {
    const h = obus[p++]!;
    const type = (h >> 3) & 15;
    if (h & 4) p++;
    let size = obus.length - p;
    if (h & 2) {
      size = 0;
      for (let i = 0; i < 8; i++) {
        if (p >= obus.length) throw new FlvError('ERR_FLV_INVALID_CONFIG', 'av1C OBU size truncated');
        const b = obus[p++]!;
        size += (b & 0x7f) * 2 ** (7 * i);
        if (!(b & 0x80)) break;
      }
    }
    if (size > obus.length - p) throw new FlvError('ERR_FLV_INVALID_CONFIG', 'av1C OBU overruns the record');
    if (type === 1)
      return parseSequenceHeader(new BitReader(obus.subarray(p, p + size), 'AV1 sequence header'));
    p += size;
  }
  return null;
}

function parseSequenceHeader(br: BitReader): { width: number; height: number } {
  br.skip(3);
  br.skip(1);
  const reduced = br.flag();
  if (reduced) {
    br.skip(5);
  } else {
    let decoderModelInfo = false;
    let delayLength = 0;
    if (br.flag()) {
      br.skip(64);
      if (br.flag()) {
        // uvlc num_ticks_per_picture_minus_1
        let zeros = 0;
        while (!br.flag()) {
          if (++zeros > 32) throw new FlvError('ERR_FLV_INVALID_CONFIG', 'AV1 uvlc');
        }
        br.skip(zeros);
      }
      decoderModelInfo = br.flag();
      if (decoderModelInfo) {
        delayLength = br.u(5) + 1;
        br.skip(32 + 5 + 5);
      }
    }
    const initialDisplayDelay = br.flag();
    const points = br.u(5) + 1;
    for (let i = 0; i < points; i++) {
      br.skip(12);
      if (br.u(5) > 7) br.skip(1);
      if (decoderModelInfo && br.flag()) br.skip(delayLength * 2 + 1);
      if (initialDisplayDelay && br.flag()) br.skip(4);
    }
  }
  const wBits = br.u(4) + 1;
  const hBits = br.u(4) + 1;
  return { width: br.u(wBits) + 1, height: br.u(hBits) + 1 };
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
