import { BitReader, ByteReader } from '../bytes.js';
import { FlvError } from '../errors.js';
import { asConfigError } from './avc.js';
import type { CodecInfo } from './info.js';

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const AAC_CHANNELS = [0, 1, 2, 3, 4, 5, 6, 8];

/** The fields of an MPEG-4 AudioSpecificConfig. */
export interface AudioSpecificConfig {
  /** Audio object type (2 = AAC-LC, 5 = SBR, 29 = PS), after the 31 escape. */
  objectType: number;
  /** Sampling frequency in Hz (the explicit 24-bit value when the index is 15). */
  sampleRate: number;
  /** channelConfiguration (0 = defined in the program config element). */
  channelConfig: number;
  /** Output sample rate for SBR/PS streams (explicit or implicit signalling), else equal to `sampleRate`. */
  extensionSampleRate: number;
}

/**
 * Parses an AudioSpecificConfig, including the object type 31 escape, frequency index 15 (explicit rate) and the
 * explicit SBR/PS header.
 * @throws {FlvError} `ERR_FLV_INVALID_CONFIG` when malformed.
 */
export function parseAudioSpecificConfig(bytes: Uint8Array): AudioSpecificConfig {
  const br = new BitReader(bytes, 'AudioSpecificConfig');
  const objectType = (): number => {
    const t = br.u(5);
    return t === 31 ? 32 + br.u(6) : t;
  };
  const rate = (): number => {
    const i = br.u(4);
    if (i === 15) return br.u(24);
    const v = AAC_RATES[i];
    if (v === undefined) throw new FlvError('ERR_FLV_INVALID_CONFIG', `AAC frequency index ${i}`);
    return v;
  };
  const aot = objectType();
  const sampleRate = rate();
  const channelConfig = br.u(4);
  let extensionSampleRate = sampleRate;
  if (aot === 5 || aot === 29) {
    // Explicit hierarchical signalling: the codec string names the SBR/PS type, the core type follows.
    extensionSampleRate = rate();
    objectType();
    return { objectType: aot, sampleRate, channelConfig, extensionSampleRate };
  }
  return { objectType: aot, sampleRate, channelConfig, extensionSampleRate };
}

/** Summary and RFC 6381 string (`mp4a.40.<object type>`) of an AudioSpecificConfig. */
export function aacInfo(bytes: Uint8Array): CodecInfo {
  try {
    const c = parseAudioSpecificConfig(bytes);
    const info: CodecInfo = {
      codecString: `mp4a.40.${c.objectType}`,
      profile: c.objectType,
      sampleRate: c.extensionSampleRate,
    };
    const ch = AAC_CHANNELS[c.channelConfig];
    if (ch !== undefined && ch > 0) info.channels = ch;
    return info;
  } catch (e) {
    throw asConfigError(e, 'AudioSpecificConfig');
  }
}

/**
 * Summary of an OpusHead identification header (RFC 7845 section 5.1).
 * @throws {FlvError} `ERR_FLV_INVALID_CONFIG` when malformed.
 */
export function opusInfo(bytes: Uint8Array): CodecInfo {
  try {
    const r = new ByteReader(bytes, 'OpusHead');
    if (r.fourcc() !== 'Opus' || r.fourcc() !== 'Head') {
      throw new FlvError('ERR_FLV_INVALID_CONFIG', 'OpusHead magic', { offset: 0 });
    }
    r.u8();
    const channels = r.u8();
    r.u16();
    r.view(4);
    // Opus always decodes at 48 kHz; the input rate field is only informational.
    return { codecString: 'opus', channels, sampleRate: 48000 };
  } catch (e) {
    throw asConfigError(e, 'OpusHead');
  }
}

/**
 * Summary of a FLAC STREAMINFO block, accepted with or without the `fLaC` marker and metadata block header.
 * @throws {FlvError} `ERR_FLV_INVALID_CONFIG` when malformed.
 */
export function flacInfo(bytes: Uint8Array): CodecInfo {
  try {
    let b = bytes;
    if (b.length >= 4 && b[0] === 0x66 && b[1] === 0x4c && b[2] === 0x61 && b[3] === 0x43) b = b.subarray(4);
    if (b.length >= 38 && (b[0]! & 0x7f) === 0 && b[1] === 0 && b[2] === 0 && b[3] === 34) b = b.subarray(4);
    if (b.length < 34) throw new FlvError('ERR_FLV_INVALID_CONFIG', 'FLAC STREAMINFO too short');
    const br = new BitReader(b, 'STREAMINFO');
    br.skip(16 + 16 + 24 + 24);
    const sampleRate = br.u(20);
    const channels = br.u(3) + 1;
    const sampleSize = br.u(5) + 1;
    return { codecString: 'flac', sampleRate, channels, sampleSize };
  } catch (e) {
    throw asConfigError(e, 'FLAC STREAMINFO');
  }
}
