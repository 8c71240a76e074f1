import { concat } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_C1_KEY,
  type DigestScheme,
  FLASH_PLAYER_KEY,
  findDigest,
  HandshakeClient,
  type HandshakeClientOptions,
  HandshakeServer,
  type HandshakeServerOptions,
  SERVER_S1_KEY,
  verifyResponse,
} from '../src/index.js';
import { seededRandom } from './helpers.js';

const CHUNK = Uint8Array.from([0x03, 0, 0, 0, 0, 0, 0x10, 0x14, 0, 0, 0, 0, 0x02, 0x00]);

/** Runs both roles against each other, returning what each side sent. */
function pipe(clientOptions: HandshakeClientOptions, serverOptions: HandshakeServerOptions = {}) {
  const client = new HandshakeClient({ random: seededRandom(11), now: () => 1, ...clientOptions });
  const server = new HandshakeServer({ random: seededRandom(22), now: () => 2, ...serverOptions });
  const c0c1 = client.start();
  const r1 = server.push(c0c1);
  expect(r1.done).toBe(false);
  const s = concat(r1.output);
  const r2 = client.push(s);
  expect(r2.done).toBe(true);
  expect(r2.rest.length).toBe(0);
  const c2 = concat(r2.output);
  // The client's first chunk bytes travel in the same write as C2.
  const r3 = server.push(concat([c2, CHUNK]));
  expect(r3.done).toBe(true);
  expect(r3.output).toEqual([]);
  expect(r3.rest).toEqual(CHUNK);
  return { client, server, c0c1, s, c2 };
}

describe('our client <-> our server', () => {
  for (const scheme of [8, 772] as DigestScheme[]) {
    it(`digest, scheme ${scheme}: both sides agree and every signature verifies`, () => {
      const { client, server, c0c1, s, c2 } = pipe({ scheme });
      expect(server.kind).toBe('digest');
      expect(server.clientScheme).toBe(scheme);
      expect(client.kind).toBe('digest');
      expect(client.serverDigestValid).toBe(true);
      const s1 = s.subarray(1, 1537);
      const s1Digest = findDigest(s1, SERVER_S1_KEY, [scheme]);
      expect(s1Digest?.scheme).toBe(scheme);
      expect(findDigest(c0c1.subarray(1), CLIENT_C1_KEY)?.scheme).toBe(scheme);
      expect(verifyResponse(c2, FLASH_PLAYER_KEY, s1Digest!.digest)).toBe(true);
    });
  }

  it('simple client: simple answer, S2 echoes C1, C2 echoes S1', () => {
    const { client, server, c0c1, s, c2 } = pipe({ digest: false });
    expect(server.kind).toBe('simple');
    expect(client.kind).toBe('simple');
    expect(client.serverDigestValid).toBeNull();
    expect(Array.from(c0c1.subarray(5, 9))).toEqual([0, 0, 0, 0]);
    expect(s.subarray(1537)).toEqual(c0c1.subarray(1));
    expect(c2).toEqual(s.subarray(1, 1537));
  });

  it('digest client against a server configured simple-only: simple, digest not applicable', () => {
    const { client, server } = pipe({}, { digest: false });
    expect(server.kind).toBe('simple');
    expect(client.kind).toBe('simple');
    expect(client.serverDigestValid).toBeNull();
  });

  it('time and version fields are reported', () => {
    const { client, server } = pipe({ now: () => 0x1_0000_0005, flashVersion: [10, 0, 32, 18] });
    expect(server.clientTime).toBe(5);
    expect(server.clientVersion).toBe(0x0a002012);
    expect(client.serverTime).toBe(2);
    expect(client.serverVersion).toBe(0x0300017b);
  });

  it('a C1 with a non-zero version but no valid digest falls back to simple', () => {
    const client = new HandshakeClient({ random: seededRandom(5) });
    const c0c1 = client.start();
    c0c1[100] = (c0c1[100]! + 1) & 0xff; // corrupt a byte covered by the digest
    const server = new HandshakeServer();
    const out = concat(server.push(c0c1).output);
    expect(server.kind).toBe('simple');
    expect(out.subarray(1537)).toEqual(c0c1.subarray(1));
    expect(Array.from(out.subarray(5, 9))).toEqual([0, 0, 0, 0]);
  });

  it('the server never fails on C2 content', () => {
    for (const fill of [0x00, 0xff, 0x03]) {
      const server = new HandshakeServer();
      server.push(new HandshakeClient().start());
      const r = server.push(new Uint8Array(1536).fill(fill));
      expect(r.done).toBe(true);
      expect(server.done).toBe(true);
    }
  });

  it('rest is a zero-copy view of the input, not a copy', () => {
    const client = new HandshakeClient();
    const server = new HandshakeServer();
    const c2 = concat(client.push(concat(server.push(client.start()).output)).output);
    const input = concat([c2, CHUNK]);
    const r = server.push(input);
    expect(r.rest.buffer).toBe(input.buffer);
    expect(r.rest.byteOffset).toBe(1536);
  });

  it('after done, push returns its whole input as rest', () => {
    const { client, server } = pipe({});
    const more = Uint8Array.from([1, 2, 3]);
    expect(server.push(more)).toEqual({ output: [], done: true, rest: more });
    expect(client.push(more).rest).toBe(more);
  });
});

describe('client verification of the server (serverDigestValid / strict)', () => {
  function serverAnswer(seed = 1) {
    const client = new HandshakeClient({ random: seededRandom(seed) });
    const c0c1 = client.start();
    const s = concat(new HandshakeServer({ random: seededRandom(seed + 1) }).push(c0c1).output);
    return { client, s };
  }

  it('tampered S1 digest: completes as simple with serverDigestValid false, C2 echoes S1', () => {
    const { client, s } = serverAnswer();
    s[300] = (s[300]! ^ 0x55) & 0xff;
    const r = client.push(s);
    expect(r.done).toBe(true);
    expect(client.kind).toBe('simple');
    expect(client.serverDigestValid).toBe(false);
    expect(concat(r.output)).toEqual(s.subarray(1, 1537));
  });

  it('tampered S2 signature: completes with serverDigestValid false', () => {
    const { client, s } = serverAnswer();
    s[3072] = (s[3072]! ^ 1) & 0xff;
    expect(client.push(s).done).toBe(true);
    expect(client.serverDigestValid).toBe(false);
  });

  it('strict: tampered S1 (version >= 3) is an error before C2 is sent', () => {
    const client = new HandshakeClient({ strict: true });
    const s = concat(new HandshakeServer().push(client.start()).output);
    s[300] = (s[300]! ^ 0x55) & 0xff;
    expect(() => client.push(s)).toThrowError(
      expect.objectContaining({ code: 'ERR_HANDSHAKE_SERVER_DIGEST_INVALID' }),
    );
    expect(() => client.push(new Uint8Array(1))).toThrowError(
      expect.objectContaining({ code: 'ERR_HANDSHAKE_SERVER_DIGEST_INVALID' }),
    );
  });

  it('strict: tampered S2 is an error', () => {
    const client = new HandshakeClient({ strict: true });
    const s = concat(new HandshakeServer().push(client.start()).output);
    s[2000] = (s[2000]! ^ 1) & 0xff;
    expect(() => client.push(s)).toThrowError(
      expect.objectContaining({ code: 'ERR_HANDSHAKE_SERVER_DIGEST_INVALID' }),
    );
  });

  it('strict: a version < 3 in S1 is not checked (FFmpeg rule)', () => {
    const client = new HandshakeClient({ strict: true });
    const s = concat(new HandshakeServer({ serverVersion: [2, 0, 0, 0] }).push(client.start()).output);
    s[300] = (s[300]! ^ 0x55) & 0xff;
    expect(client.push(s).done).toBe(true);
    expect(client.serverDigestValid).toBe(false);
  });
});
