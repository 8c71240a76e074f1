import { directionBytes, readCapture } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_C1_KEY,
  digestOffset,
  FLASH_MEDIA_SERVER_KEY,
  findDigest,
  HandshakeClient,
  HandshakeServer,
  SERVER_S1_KEY,
  verifyDigest,
  verifyResponse,
} from '../src/index.js';
import { feed, seededRandom } from './helpers.js';

const FFMPEG_PUBLISH = 'ffmpeg-publish-h264-aac.rtmpcap';
const FFMPEG_PLAY = 'ffmpeg-play-h264-aac.rtmpcap';
const LIBRTMP_PUBLISH = 'librtmp-publish-h264-aac.rtmpcap';
const FFMPEG_EXTTS = 'ffmpeg-publish-extended-timestamp.rtmpcap';

function handshakeOf(name: string) {
  const records = readCapture(name);
  const fromClient = directionBytes(records, 0, 3073);
  const fromServer = directionBytes(records, 1, 3073);
  return {
    records,
    c0: fromClient[0]!,
    c1: fromClient.subarray(1, 1537),
    c2: fromClient.subarray(1537, 3073),
    s0: fromServer[0]!,
    s1: fromServer.subarray(1, 1537),
    s2: fromServer.subarray(1537, 3073),
    fromServer,
  };
}

/** A random source that replays the given blocks in order (to rebuild a real peer's packets exactly). */
function replay(...blocks: Uint8Array[]): (size: number) => Uint8Array {
  return (size) => {
    const next = blocks.shift();
    if (next === undefined || next.length !== size) throw new Error(`unexpected random(${size})`);
    return next;
  };
}

describe("FFmpeg's real digest C1", () => {
  for (const name of [FFMPEG_PUBLISH, FFMPEG_PLAY, FFMPEG_EXTTS]) {
    it(`${name}: C1 verifies at scheme 8 (digest at offset 494), not at 772`, () => {
      const { c0, c1 } = handshakeOf(name);
      expect(c0).toBe(3);
      expect(Array.from(c1.subarray(4, 8))).toEqual([0x09, 0x00, 0x7c, 0x02]);
      expect(digestOffset(c1, 8)).toBe(494);
      const found = findDigest(c1, CLIENT_C1_KEY);
      expect(found?.scheme).toBe(8);
      expect(found?.offset).toBe(494);
      expect(verifyDigest(c1, 772, CLIENT_C1_KEY)).toBeNull();
    });
  }

  it('our server answers it with a digest S1 (same scheme) and an S2 signed with its digest', () => {
    const { c1, records } = handshakeOf(FFMPEG_PUBLISH);
    const server = new HandshakeServer({ random: seededRandom(7), now: () => 1234 });
    const clientRecords = records.filter((r) => r.direction === 0);
    const out = feed(
      server,
      clientRecords.map((r) => r.bytes),
    );
    expect(server.kind).toBe('digest');
    expect(server.clientScheme).toBe(8);
    expect(server.clientVersion).toBe(0x09007c02);
    expect(out.done).toBe(true);
    // Original read boundaries: C0+C1, then C2 alone, then the chunk stream.
    expect(out.doneAt).toBe(1);
    const total = clientRecords.reduce((n, r) => n + r.bytes.length, 0);
    expect(out.rest.length).toBe(total - 3073);
    expect(out.rest[0]).toBe(0x03); // fmt 0, csid 3: the connect command

    expect(out.output.length).toBe(3073);
    expect(out.output[0]).toBe(3);
    const s1 = out.output.subarray(1, 1537);
    const s2 = out.output.subarray(1537);
    expect(Array.from(s1.subarray(0, 8))).toEqual([0, 0, 4, 210, 3, 0, 1, 123]);
    expect(verifyDigest(s1, 8, SERVER_S1_KEY)).not.toBeNull();
    expect(verifyResponse(s2, FLASH_MEDIA_SERVER_KEY, findDigest(c1, CLIENT_C1_KEY)!.digest)).toBe(true);
  });
});

describe("nginx's S1/S2 (an independent implementation) parse and verify", () => {
  for (const name of [FFMPEG_PUBLISH, FFMPEG_PLAY, FFMPEG_EXTTS]) {
    it(`${name}: S1 digest and S2 signature verify with our primitives`, () => {
      const { s0, s1, s2, c1 } = handshakeOf(name);
      expect(s0).toBe(3);
      expect(findDigest(s1, SERVER_S1_KEY)).not.toBeNull();
      expect(verifyResponse(s2, FLASH_MEDIA_SERVER_KEY, findDigest(c1, CLIENT_C1_KEY)!.digest)).toBe(true);
    });
  }

  it("our client rebuilding FFmpeg's player C1 accepts nginx's answer and produces FFmpeg's exact signed C2", () => {
    const { c1, c2, s1, records } = handshakeOf(FFMPEG_PLAY);
    // FFmpeg's C1: time 0, version 9.0.124.2, random bytes with the digest at scheme 8.
    const client = new HandshakeClient({
      now: () => 0,
      random: replay(c1.slice(8), c2.slice(0, 1504)),
    });
    const start = client.start();
    expect(start.subarray(1)).toEqual(c1);
    const out = feed(
      client,
      records.filter((r) => r.direction === 1).map((r) => r.bytes),
    );
    expect(out.done).toBe(true);
    expect(client.kind).toBe('digest');
    expect(client.serverDigestValid).toBe(true);
    expect(client.serverVersion).toBe(0x0d0e0a0d);
    expect(client.serverTime).toBe((s1[0]! << 24) | (s1[1]! << 16) | (s1[2]! << 8) | s1[3]!);
    expect(out.output).toEqual(c2);
    expect(out.rest[0]! & 0x3f).toBeGreaterThanOrEqual(2); // chunk basic header follows S2
  });

  it('a publisher capture: nginx answered digest, FFmpeg (publishing) echoed S1 as C2', () => {
    const { c2, s1 } = handshakeOf(FFMPEG_PUBLISH);
    expect(c2).toEqual(s1);
  });
});

describe("librtmp's simple C1", () => {
  it('takes the simple path; S2 echoes C1; S1 version is zero', () => {
    const { c0, c1, records } = handshakeOf(LIBRTMP_PUBLISH);
    expect(c0).toBe(3);
    expect(Array.from(c1.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    const server = new HandshakeServer({ random: seededRandom(3) });
    const out = feed(
      server,
      records.filter((r) => r.direction === 0).map((r) => r.bytes),
    );
    expect(server.kind).toBe('simple');
    expect(server.clientScheme).toBeNull();
    expect(out.done).toBe(true);
    expect(Array.from(out.output.subarray(5, 9))).toEqual([0, 0, 0, 0]);
    expect(out.output.subarray(1537)).toEqual(c1);
    // librtmp glued its first chunks to C2 in one read: they come back as rest.
    expect(out.rest[0]).toBe(0x03);
  });

  it('our simple client, rebuilding C1, accepts the simple S1/S2 of nginx and echoes S1 like librtmp', () => {
    const { c1, c2, s1, fromServer } = handshakeOf(LIBRTMP_PUBLISH);
    const time = ((c1[0]! << 24) | (c1[1]! << 16) | (c1[2]! << 8) | c1[3]!) >>> 0;
    const client = new HandshakeClient({ digest: false, now: () => time, random: replay(c1.slice(8)) });
    expect(client.start().subarray(1)).toEqual(c1);
    const out = feed(client, [fromServer]);
    expect(out.done).toBe(true);
    expect(client.kind).toBe('simple');
    expect(client.serverDigestValid).toBeNull();
    expect(out.output).toEqual(s1);
    expect(out.output).toEqual(c2);
  });
});
