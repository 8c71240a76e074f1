import { MessageType } from '@rtmp/chunk';
import { until } from '@rtmp/testing';
import { afterEach, expect, it } from 'vitest';
import { RawPeer } from './lib.js';
import { type Harness, startHarness } from './server-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** A fmt 0 header on csid 6 declaring `length` bytes of video on stream 1. */
function header(length: number): Uint8Array {
  return Uint8Array.from([
    6,
    0,
    0,
    0,
    (length >>> 16) & 0xff,
    (length >>> 8) & 0xff,
    length & 0xff,
    MessageType.Video,
    1,
    0,
    0,
    0,
  ]);
}

it('a message declaring more than maxMessageSize is refused at once with ERR_RTMP_MESSAGE_TOO_LARGE', async () => {
  h = await startHarness({ maxMessageSize: 1000, idleTimeout: 5000 });
  const peer = new RawPeer(h.port);
  await peer.handshake();
  peer.write(header(2000));
  await peer.closed();
  await until(() => h?.session(peer.localPort)?.disconnected === true, 2000, 'server-side close');
  const record = h.session(peer.localPort);
  expect(record?.errors.map((e) => e.code)).toEqual(['ERR_RTMP_MESSAGE_TOO_LARGE']);
});

it('a declared length at maxMessageSize is accepted', async () => {
  h = await startHarness({ maxMessageSize: 1000, idleTimeout: 600, pingInterval: 0 });
  const peer = new RawPeer(h.port);
  await peer.handshake();
  peer.write(header(1000));
  await peer.closed();
  await until(() => h?.session(peer.localPort)?.disconnected === true, 2000, 'server-side close');
  const rec = h.session(peer.localPort);
  expect(rec?.errors.map((e) => e.code)).toEqual(['ERR_RTMP_IDLE_TIMEOUT']);
});
