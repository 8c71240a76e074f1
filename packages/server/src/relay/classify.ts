/** How the relay treats one media or data message. */
export interface MediaKind {
  /** A codec configuration (AVC/HEVC sequence header, AudioSpecificConfig, E-RTMP SequenceStart...). */
  header: boolean;
  /** A video keyframe (a player may start here). */
  keyframe: boolean;
}

// Shared results: the relay classifies every message, so none of these is allocated per message.
const NONE: MediaKind = Object.freeze({ header: false, keyframe: false });
const HEADER: MediaKind = Object.freeze({ header: true, keyframe: false });
const KEYFRAME: MediaKind = Object.freeze({ header: false, keyframe: true });

function kind(header: boolean, keyframe: boolean): MediaKind {
  return header ? HEADER : keyframe ? KEYFRAME : NONE;
}

// Only the first bytes of the tag body decide this, so the relay does not run a full demuxer per message.
export function classifyVideo(body: Uint8Array): MediaKind {
  const b0 = body[0];
  if (b0 === undefined) return NONE;
  if (b0 & 0x80) {
    const frameType = (b0 >> 4) & 0x07;
    let packetType = b0 & 0x0f;
    if (packetType === 7) return kind(false, frameType === 1); // ModEx: rarely a header.
    if (packetType === 6) packetType = (body[1] ?? 0xff) & 0x0f; // Multitrack: inner packet type.
    const header = packetType === 0 || packetType === 5;
    return kind(header, !header && frameType === 1);
  }
  const frameType = b0 >> 4;
  const codec = b0 & 0x0f;
  const header = (codec === 7 || codec === 12 || codec === 13) && body[1] === 0;
  return kind(header, !header && frameType === 1);
}

export function classifyAudio(body: Uint8Array): MediaKind {
  const b0 = body[0];
  if (b0 === undefined) return NONE;
  const format = b0 >> 4;
  if (format === 10) return kind(body[1] === 0, false);
  if (format === 9) {
    let packetType = b0 & 0x0f;
    if (packetType === 5) packetType = (body[1] ?? 0xff) & 0x0f;
    return kind(packetType === 0 || packetType === 4, false);
  }
  return NONE;
}
