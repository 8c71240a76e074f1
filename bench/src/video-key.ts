/**
 * A key identifying a video message by its content (length and its last 6 bytes, inside the last NAL unit), so
 * servers that rebase timestamps still match. `bytes[end - 1]` is the message's last byte.
 */
export function videoKeyOf(length: number, bytes: Uint8Array, end: number): number {
  const a = (bytes[end - 1] ?? 0) | ((bytes[end - 2] ?? 0) << 8) | ((bytes[end - 3] ?? 0) << 16);
  const b = (bytes[end - 4] ?? 0) | ((bytes[end - 5] ?? 0) << 8) | ((bytes[end - 6] ?? 0) << 16);
  return (Math.imul(length, 0x1000193) ^ Math.imul(a, 31) ^ Math.imul(b, 0x9e3779b1 | 0)) >>> 0;
}

/** {@link videoKeyOf} a whole payload. Unique per testsrc2 frame in practice; the publisher drops repeated keys. */
export function videoKey(payload: Uint8Array): number {
  return videoKeyOf(payload.length, payload, payload.length);
}
