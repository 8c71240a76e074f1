/// <reference types="node" />
// A visible choice of a Node API in a pure package: node:crypto's HMAC-SHA256 for the digest handshake.
import { createHmac } from 'node:crypto';

/** Size of C1, S1, C2 and S2 in bytes. */
export const HANDSHAKE_SIZE = 1536;

/** The only plain-RTMP protocol version (C0/S0). */
export const RTMP_VERSION = 3;

/** Length of an HMAC-SHA256 digest, as embedded in C1/S1 and appended to C2/S2. */
export const DIGEST_LENGTH = 32;

/**
 * Where the digest of a digest ("FP9") handshake sits. The number is the position of the four bytes whose sum
 * selects the digest offset: `8` (scheme 0, FFmpeg's and Flash Player's default) or `772` (scheme 1).
 */
export type DigestScheme = 8 | 772;

/** Both schemes, in the order a verifier tries them. */
export const DIGEST_SCHEMES: readonly DigestScheme[] = [8, 772];

const KEY_SUFFIX = Uint8Array.from([
  0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec,
  0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
]);

function concatKey(text: string): Uint8Array {
  const head = new TextEncoder().encode(text);
  const key = new Uint8Array(head.length + KEY_SUFFIX.length);
  key.set(head, 0);
  key.set(KEY_SUFFIX, head.length);
  return key;
}

/** Flash Player key (62 bytes). Its first 30 bytes sign C1; the full key derives the C2 signing key. */
export const FLASH_PLAYER_KEY: Uint8Array = concatKey('Genuine Adobe Flash Player 001');
/** Flash Media Server key (68 bytes). Its first 36 bytes sign S1; the full key derives the S2 signing key. */
export const FLASH_MEDIA_SERVER_KEY: Uint8Array = concatKey('Genuine Adobe Flash Media Server 001');

/** The part of {@link FLASH_PLAYER_KEY} that signs C1. */
export const CLIENT_C1_KEY: Uint8Array = FLASH_PLAYER_KEY.subarray(0, 30);
/** The part of {@link FLASH_MEDIA_SERVER_KEY} that signs S1. */
export const SERVER_S1_KEY: Uint8Array = FLASH_MEDIA_SERVER_KEY.subarray(0, 36);

/** HMAC-SHA256 of the concatenation of `parts`, without concatenating them. */
export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const part of parts) h.update(part);
  const out = h.digest();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Position of the 32-byte digest inside a 1536-byte C1/S1 for a scheme: the sum of the four bytes at
 * `scheme`, modulo 728, plus `scheme + 4`.
 */
export function digestOffset(packet: Uint8Array, scheme: DigestScheme): number {
  const sum = packet[scheme]! + packet[scheme + 1]! + packet[scheme + 2]! + packet[scheme + 3]!;
  return (sum % 728) + scheme + 4;
}

/** The HMAC over the 1504 bytes around the digest slot at `offset`. */
function digestAround(packet: Uint8Array, offset: number, key: Uint8Array): Uint8Array {
  return hmacSha256(key, packet.subarray(0, offset), packet.subarray(offset + DIGEST_LENGTH, HANDSHAKE_SIZE));
}

function equal32(a: Uint8Array, aOffset: number, b: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < DIGEST_LENGTH; i++) diff |= a[aOffset + i]! ^ b[i]!;
  return diff === 0;
}

/** A verified digest: the scheme it was found at, its offset and a view of the 32 digest bytes. */
export interface FoundDigest {
  /** Scheme whose offset held a valid digest. */
  readonly scheme: DigestScheme;
  /** Offset of the digest inside the packet. */
  readonly offset: number;
  /** Zero-copy view of the 32 digest bytes. */
  readonly digest: Uint8Array;
}

/**
 * Checks whether a 1536-byte C1/S1 carries a valid digest at `scheme`, signed with `key`
 * ({@link CLIENT_C1_KEY} for C1, {@link SERVER_S1_KEY} for S1). Returns `null` when it does not, or when the
 * packet is not 1536 bytes.
 */
export function verifyDigest(packet: Uint8Array, scheme: DigestScheme, key: Uint8Array): FoundDigest | null {
  if (packet.length !== HANDSHAKE_SIZE) return null;
  const offset = digestOffset(packet, scheme);
  const expected = digestAround(packet, offset, key);
  if (!equal32(packet, offset, expected)) return null;
  return { scheme, offset, digest: packet.subarray(offset, offset + DIGEST_LENGTH) };
}

/**
 * Tries every scheme in `order` (default: 8 then 772) and returns the first valid digest, or `null` when the
 * packet carries none.
 */
export function findDigest(
  packet: Uint8Array,
  key: Uint8Array,
  order: readonly DigestScheme[] = DIGEST_SCHEMES,
): FoundDigest | null {
  for (const scheme of order) {
    const found = verifyDigest(packet, scheme, key);
    if (found !== null) return found;
  }
  return null;
}

/** Writes a valid digest into a 1536-byte packet in place (the packet's other bytes must be final). */
export function writeDigest(packet: Uint8Array, scheme: DigestScheme, key: Uint8Array): FoundDigest {
  const offset = digestOffset(packet, scheme);
  packet.set(digestAround(packet, offset, key), offset);
  return { scheme, offset, digest: packet.subarray(offset, offset + DIGEST_LENGTH) };
}

/**
 * Signs a 1536-byte C2/S2 in place: its last 32 bytes become `HMAC(HMAC(fullKey, peerDigest), packet[0..1504])`.
 * `fullKey` is {@link FLASH_MEDIA_SERVER_KEY} for S2 (peer digest = C1's) and {@link FLASH_PLAYER_KEY} for C2
 * (peer digest = S1's).
 */
export function signResponse(packet: Uint8Array, fullKey: Uint8Array, peerDigest: Uint8Array): void {
  const key = hmacSha256(fullKey, peerDigest);
  const end = HANDSHAKE_SIZE - DIGEST_LENGTH;
  packet.set(hmacSha256(key, packet.subarray(0, end)), end);
}

/** Checks the signature of a C2/S2 built by {@link signResponse}. */
export function verifyResponse(packet: Uint8Array, fullKey: Uint8Array, peerDigest: Uint8Array): boolean {
  if (packet.length !== HANDSHAKE_SIZE) return false;
  const key = hmacSha256(fullKey, peerDigest);
  const end = HANDSHAKE_SIZE - DIGEST_LENGTH;
  return equal32(packet, end, hmacSha256(key, packet.subarray(0, end)));
}
