import { BitReader, ByteReader, hex2, unescapeRbsp } from '../bytes.js';
import { FlvError } from '../errors.js';
import type { CodecInfo } from './info.js';

/** The parts of an AVCDecoderConfigurationRecord (avcC). */
export interface AvcConfig {
  profile: number;
  compatibility: number;
  level: number;
  nalLengthSize: number;
  sps: Uint8Array[];
  pps: Uint8Array[];
}

/** Summary of an H.264 sequence parameter set. */
export interface AvcSpsInfo {
  profile: number;
  compatibility: number;
  level: number;
  chromaFormat: number;
  bitDepth: number;
  width: number;
  height: number;
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/**
 * Parses an avcC record.
 * @throws {FlvError} `ERR_FLV_INVALID_CONFIG` when malformed.
 */
export function parseAvcConfig(bytes: Uint8Array): AvcConfig {
  try {
    const r = new ByteReader(bytes, 'avcC');
    const version = r.u8();
    if (version !== 1) throw new FlvError('ERR_FLV_INVALID_CONFIG', `avcC version ${version}`, { offset: 0 });
    const profile = r.u8();
    const compatibility = r.u8();
    const level = r.u8();
    const nalLengthSize = (r.u8() & 3) + 1;
    const sps: Uint8Array[] = [];
    const pps: Uint8Array[] = [];
    const nSps = r.u8() & 31;
    for (let i = 0; i < nSps; i++) sps.push(r.view(r.u16()));
    const nPps = r.u8();
    for (let i = 0; i < nPps; i++) pps.push(r.view(r.u16()));
    return { profile, compatibility, level, nalLengthSize, sps, pps };
  } catch (e) {
    throw asConfigError(e, 'avcC');
  }
}

function scalingList(br: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + br.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/**
 * Parses an H.264 SPS NAL unit (with its 1-byte NAL header) for profile, level, size (cropping applied) and
 * chroma format, including the High profiles' chroma, bit depth and scaling lists.
 * @throws {FlvError} `ERR_FLV_INVALID_CONFIG` when malformed.
 */
export function parseAvcSps(nal: Uint8Array): AvcSpsInfo {
  const br = new BitReader(unescapeRbsp(nal), 'H.264 SPS');
  br.skip(8);
  const profile = br.u(8);
  const compatibility = br.u(8);
  const level = br.u(8);
  br.ue();
  let chromaFormat = 1;
  let separateColourPlane = false;
  let bitDepth = 8;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = br.ue();
    if (chromaFormat > 3) throw new FlvError('ERR_FLV_INVALID_CONFIG', 'H.264 SPS chroma_format_idc');
    if (chromaFormat === 3) separateColourPlane = br.flag();
    bitDepth = br.ue() + 8;
    br.ue();
    br.skip(1);
    if (br.flag()) {
      const n = chromaFormat !== 3 ? 8 : 12;
      for (let i = 0; i < n; i++) if (br.flag()) scalingList(br, i < 6 ? 16 : 64);
    }
  }
  br.ue();
  const pocType = br.ue();
  if (pocType === 0) br.ue();
  else if (pocType === 1) {
    br.skip(1);
    br.se();
    br.se();
    const n = br.ue();
    if (n > 255)
      throw new FlvError('ERR_FLV_INVALID_CONFIG', 'H.264 SPS num_ref_frames_in_pic_order_cnt_cycle');
    for (let i = 0; i < n; i++) br.se();
  }
  br.ue();
  br.skip(1);
  const widthMbs = br.ue() + 1;
  const heightMapUnits = br.ue() + 1;
  const frameMbsOnly = br.u(1);
  if (!frameMbsOnly) br.skip(1);
  br.skip(1);
  let cropL = 0;
  let cropR = 0;
  let cropT = 0;
  let cropB = 0;
  if (br.flag()) {
    cropL = br.ue();
    cropR = br.ue();
    cropT = br.ue();
    cropB = br.ue();
  }
  const arrayType = separateColourPlane ? 0 : chromaFormat;
  const subW = arrayType === 1 || arrayType === 2 ? 2 : 1;
  const subH = arrayType === 1 ? 2 : 1;
  const cropUnitX = arrayType === 0 ? 1 : subW;
  const cropUnitY = (arrayType === 0 ? 1 : subH) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - (cropL + cropR) * cropUnitX;
  const height = (2 - frameMbsOnly) * heightMapUnits * 16 - (cropT + cropB) * cropUnitY;
  if (width <= 0 || height <= 0)
    throw new FlvError('ERR_FLV_INVALID_CONFIG', 'H.264 SPS cropping exceeds size');
  return { profile, compatibility, level, chromaFormat, bitDepth, width, height };
}

/** Summary and RFC 6381 string (`avc1.PPCCLL`) of an avcC record. */
export function avcInfo(bytes: Uint8Array): CodecInfo {
  const c = parseAvcConfig(bytes);
  const info: CodecInfo = {
    codecString: `avc1.${hex2(c.profile)}${hex2(c.compatibility)}${hex2(c.level)}`,
    profile: c.profile,
    level: c.level,
    nalLengthSize: c.nalLengthSize,
  };
  const sps = c.sps[0];
  if (sps !== undefined) {
    const s = parseAvcSps(sps);
    info.width = s.width;
    info.height = s.height;
    info.chromaFormat = s.chromaFormat;
    info.bitDepth = s.bitDepth;
  }
  return info;
}

export function asConfigError(e: unknown, what: string): FlvError {
  if (e instanceof FlvError && e.code === 'ERR_FLV_INVALID_CONFIG') return e;
  const message = e instanceof Error ? e.message : String(e);
  return new FlvError('ERR_FLV_INVALID_CONFIG', `${what}: ${message}`);
}
