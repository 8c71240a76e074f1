/// <reference types="node" />
// A visible choice of a Node API in a pure package: TextDecoder/TextEncoder, the WHATWG globals Node (and every
// browser) provides; nothing else of Node is used.
// ignoreBOM keeps a leading U+FEFF in the string, so a decoded string re-encodes to the same bytes.
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const textEncoder = new TextEncoder();

/**
 * Short ASCII strings (property names, command names, status codes) repeat from message to message. Returning the
 * same string instance for the same bytes lets V8 skip hashing/internalising it again when it becomes a property key,
 * which dominated decoding time before this cache. Direct-mapped, so it never grows; strings are immutable, so sharing
 * them between decoder instances is safe.
 */
const CACHE_MAX_LENGTH = 64;
const ENCODE_IN_JS_MAX = 24;
const CACHE_BITS = 11;
const cache: string[] = new Array<string>(1 << CACHE_BITS).fill('');

/** Decodes UTF-8 (invalid sequences become U+FFFD, never an exception). */
export function decodeUtf8(bytes: Uint8Array, start: number, length: number): string {
  if (length <= CACHE_MAX_LENGTH) {
    if (length === 0) return '';
    const end = start + length;
    // Hash a few bytes only: the comparison below checks every byte anyway.
    let h = Math.imul(length, 0x9e3779b1) ^ bytes[start]!;
    h = Math.imul(h ^ (bytes[start + (length >>> 1)]! << 8), 0x85ebca6b);
    h = Math.imul(h ^ (bytes[end - 1]! << 16) ^ (bytes[Math.max(end - 2, start)]! << 24), 0xc2b2ae35);
    // Two-way set associative: two hot strings that share a slot do not evict each other on every message.
    const slot = ((h ^ (h >>> 15)) >>> (32 - CACHE_BITS)) & ~1;
    const first = cache[slot]!;
    if (first.length === length && sameAscii(first, bytes, start)) return first;
    const second = cache[slot + 1]!;
    if (second.length === length && sameAscii(second, bytes, start)) return second;
    const s = intern(textDecoder.decode(view(bytes, start, length)));
    // Same length as the bytes means one char per byte: ASCII (or U+FFFD, which can never match a byte), so a later
    // hit on these exact bytes is always the same string.
    if (s.length === length) {
      cache[slot + 1] = first;
      cache[slot] = s;
    }
    return s;
  }
  return textDecoder.decode(view(bytes, start, length));
}

/**
 * Returns V8's internalised copy of `s` (the instance property keys are stored as), so that using the cached string
 * as a key later needs no string-table lookup.
 */
function intern(s: string): string {
  return Object.keys({ [s]: 0 })[0] ?? s;
}

function sameAscii(s: string, bytes: Uint8Array, start: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}

/** A plain Uint8Array view: `subarray` on a Buffer input would construct a Buffer (species), which costs more. */
function view(bytes: Uint8Array, start: number, length: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, length);
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
  // Past a few dozen chars the native (SIMD) encoder beats the JS loop despite its call overhead.
  if (n > ENCODE_IN_JS_MAX) return pos + textEncoder.encodeInto(s, buf.subarray(pos)).written;
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
