import type { RtmpMessage } from './message.js';

/**
 * Splits an aggregate message (type 22) into its sub-messages: each is an FLV tag (11-byte header, data, u32
 * back-pointer). Timestamps are rebased: aggregate timestamp + (sub timestamp - first sub timestamp), modulo 2^32.
 * Sub-messages keep the aggregate's stream id. Stops at the first truncated sub-message; never throws on content.
 * Payloads are views of the aggregate payload.
 */
export function splitAggregate(message: RtmpMessage): RtmpMessage[] {
  const p = message.payload;
  const out: RtmpMessage[] = [];
  let at = 0;
  let first = 0;
  while (p.length - at >= 11) {
    const size = (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!;
    if (p.length - at - 11 < size) break;
    const ts = ((p[at + 7]! << 24) | (p[at + 4]! << 16) | (p[at + 5]! << 8) | p[at + 6]!) >>> 0;
    if (out.length === 0) first = ts;
    out.push({
      // The low 5 bits are the tag type; bit 5 is FLV's encryption filter flag.
      type: p[at]! & 0x1f,
      streamId: message.streamId,
      timestamp: (message.timestamp + ts - first) >>> 0,
      payload: p.subarray(at + 11, at + 11 + size),
    });
    at += 11 + size + 4;
  }
  return out;
}
