import { BitReader, ByteReader, unescapeRbsp } from '../bytes.js';
import { FlvError } from '../errors.js';
import { asConfigError } from './avc.js';
import type { CodecInfo } from './info.js';

/** The parts of an HEVCDecoderConfigurationRecord (hvcC) that matter to a demuxer. */
export interface HevcConfig {
  profileSpace: number;
  tier: number;
  profile: number;
  compatibilityFlags: number;
  constraintFlags: Uint8Array;
  level: number;
  chromaFormat: number;
  bitDepth: number;
  nalLengthSize: number;
  /** NAL unit arrays: `type` is the NAL unit type (32 VPS, 33 SPS, 34 PPS, 39/40 SEI). */
  arrays: { type: number; nalus: Uint8Array[] }[];
}

/**
 * Parses an hvcC record.
 * @throws {FlvError} `ERR_FLV_INVALID_CONFIG` when malformed.
 */
export function parseHevcConfig(bytes: Uint8Array): HevcConfig {
  try {
    const r = new ByteReader(bytes, 'hvcC');
    const version = r.u8();
    if (version !== 1) throw new FlvError('ERR_FLV_INVALID_CONFIG', `hvcC version ${version}`, { offset: 0 });
    const b1 = r.u8();
    const compatibilityFlags = r.u32();
    const constraintFlags = r.view(6);
    const level = r.u8();
    r.u16();
    r.u8();
    const chromaFormat = r.u8() & 3;
    const bitDepth = (r.u8() & 7) + 8;
    r.u8();
    r.u16();
    const nalLengthSize = (r.u8() & 3) + 1;
    const nArrays = r.u8();
    const arrays: HevcConfig['arrays'] = [];
    for (let i = 0; i < nArrays; i++) {
      const type = r.u8() & 63;
      const n = r.u16();
      const nalus: Uint8Array[] = [];
      for (let j = 0; j < n; j++) nalus.push(r.view(r.u16()));
      arrays.push({ type, nalus });
    }
    return {
      profileSpace: b1 >> 6,
      tier: (b1 >> 5) & 1,
      profile: b1 & 31,
      compatibilityFlags,
      constraintFlags,
      level,
      chromaFormat,
      bitDepth,
      nalLengthSize,
      arrays,
    };
  } catch (e) {
    throw asConfigError(e, 'hvcC');
  }
}

/**
 * Parses an H.265 SPS NAL unit (with its 2-byte NAL header) for the picture size after the conformance window.
 * @throws {FlvError} `ERR_FLV_INVALID_CONFIG` when malformed.
 */
export function parseHevcSps(nal: Uint8Array): { width: number; height: number; chromaFormat: number } {
  const br = new BitReader(unescapeRbsp(nal), 'H.265 SPS');
  br.skip(16);
  br.skip(4);
  const maxSubLayersMinus1 = br.u(3);
  br.skip(1);
  br.skip(96);
  const subProfile: boolean[] = [];
  const subLevel: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subProfile.push(br.flag());
    subLevel.push(br.flag());
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) br.skip(2);
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subProfile[i]) br.skip(88);
    if (subLevel[i]) br.skip(8);
  }
  br.ue();
  const chromaFormat = br.ue();
  if (chromaFormat > 3) throw new FlvError('ERR_FLV_INVALID_CONFIG', 'H.265 SPS chroma_format_idc');
  let separate = false;
  if (chromaFormat === 3) separate = br.flag();
  let width = br.ue();
  let height = br.ue();
  if (br.flag()) {
    const arrayType = separate ? 0 : chromaFormat;
    const subW = arrayType === 1 || arrayType === 2 ? 2 : 1;
    const subH = arrayType === 1 ? 2 : 1;
    const l = br.ue();
    const r = br.ue();
    const t = br.ue();
    const b = br.ue();
    width -= subW * (l + r);
    height -= subH * (t + b);
  }
  if (width <= 0 || height <= 0) throw new FlvError('ERR_FLV_INVALID_CONFIG', 'H.265 SPS size');
  return { width, height, chromaFormat };
}

function reverseBits32(v: number): number {
  let out = 0;
  for (let i = 0; i < 32; i++) {
    out = out * 2 + (v & 1);
    v >>>= 1;
  }
  return out;
}

/** Summary and RFC 6381 string (e.g. `hvc1.1.6.L93.B0`) of an hvcC record. */
export function hevcInfo(bytes: Uint8Array): CodecInfo {
  const c = parseHevcConfig(bytes);
  const space = ['', 'A', 'B', 'C'][c.profileSpace] ?? '';
  const constraints = Array.from(c.constraintFlags);
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  let codecString = `hvc1.${space}${c.profile}.${reverseBits32(c.compatibilityFlags).toString(16).toUpperCase()}.${
    c.tier ? 'H' : 'L'
  }${c.level}`;
  for (const b of constraints) codecString += `.${b.toString(16).toUpperCase()}`;
  const info: CodecInfo = {
    codecString,
    profile: c.profile,
    level: c.level,
    nalLengthSize: c.nalLengthSize,
    chromaFormat: c.chromaFormat,
    bitDepth: c.bitDepth,
  };
  const sps = c.arrays.find((a) => a.type === 33)?.nalus[0];
  if (sps !== undefined) {
    const s = parseHevcSps(sps);
    info.width = s.width;
    info.height = s.height;
  }
  return info;
}
