/**
 * A codec summary: what players, HLS packagers and WebCodecs need. Fields are present when the configuration
 * record (or the legacy header) tells them.
 */
export interface CodecInfo {
  /** RFC 6381 codec string, e.g. `avc1.64001F`, `mp4a.40.2`, `av01.0.04M.08`, `opus`. */
  codecString: string;
  /** Codec profile number (AVC profile_idc, HEVC general_profile_idc, AAC audio object type, AV1/VP9 profile). */
  profile?: number;
  /** Codec level number (AVC level_idc, HEVC general_level_idc, AV1 seq_level_idx, VP9 level). */
  level?: number;
  /** Coded picture width in pixels after cropping. */
  width?: number;
  /** Coded picture height in pixels after cropping. */
  height?: number;
  /** Luma bit depth. */
  bitDepth?: number;
  /** Chroma format (0 mono, 1 4:2:0, 2 4:2:2, 3 4:4:4). */
  chromaFormat?: number;
  /** NAL unit length prefix size in bytes (AVC/HEVC/VVC). */
  nalLengthSize?: number;
  /** Audio sample rate in Hz. */
  sampleRate?: number;
  /** Audio channel count. */
  channels?: number;
  /** Audio sample size in bits (legacy header, FLAC). */
  sampleSize?: number;
  /**
   * The legacy FLV sound format (audio) or codec id (video) when the stream uses a legacy header that carries
   * information: the legacy-only codecs, MP3 (2 or 14) and HEVC's id 12. AVC and AAC omit it (their legacy form
   * is the canonical one).
   */
  legacyId?: number;
  /** The legacy audio header's low nibble (rate/size/type), kept so a muxer can rebuild the header byte. */
  legacyFlags?: number;
}
