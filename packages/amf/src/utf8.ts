// ignoreBOM keeps a leading U+FEFF in the string, so a decoded string re-encodes to the same bytes.
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const textEncoder = new TextEncoder();

/** Below this many bytes a JS loop beats TextDecoder's call overhead for ASCII (measured on Node 20). */
const SHORT = 48;

/** Decodes UTF-8 (invalid sequences become U+FFFD, never an exception). */
export function decodeUtf8(bytes: Uint8Array, start: number, length: number): string {
  if (length <= SHORT) {
    const end = start + length;
    let out = '';
    for (let i = start; i < end; i++) {
      const c = bytes[i]!;
      if (c >= 0x80) return textDecoder.decode(bytes.subarray(start, end));
      out += String.fromCharCode(c);
    }
    return out;
  }
  return textDecoder.decode(bytes.subarray(start, start + length));
}

/** The UTF-8 length of a JS string (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder writes them). */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2; // 2 UTF-16 units -> 4 bytes
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/**
 * Writes `s` as UTF-8 into `buf` at `pos`; the caller guarantees `s.length * 3` bytes of room. Returns the new position.
 */
export function writeUtf8(buf: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      const r = textEncoder.encodeInto(i === 0 ? s : s.slice(i), buf.subarray(pos));
      return pos + r.written;
    }
    buf[pos++] = c;
  }
  return pos;
}
