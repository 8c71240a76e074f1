import * as net from 'node:net';
import * as tls from 'node:tls';
import type { RtmpMessage } from '@rtmp/chunk';
import { hasTool, next, selfSignedCert, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpConnection, type RtmpConnectionOptions } from '../src/index.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** `count` pairs on one listener: the server ends read into the shared buffer. */
async function pairs(
  count: number,
  serverOptions: Partial<RtmpConnectionOptions> = { sharedReadBuffer: true },
): Promise<{ server: RtmpConnection; client: RtmpConnection }[]> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const servers: RtmpConnection[] = [];
  // Wrapped in the 'connection' event itself, as RtmpServer does: before the socket's first read.
  listener.on('connection', (socket) => {
    servers.push(new RtmpConnection(socket, { ...serverOptions, role: 'server' }));
  });
  const clients = Array.from(
    { length: count },
    () => new RtmpConnection(net.connect(port, '127.0.0.1'), { role: 'client' }),
  );
  await until(() => servers.length === count);
  listener.close();
  const all = [...servers, ...clients];
  await Promise.all(all.map((c) => (c.ready ? undefined : next(c, 'ready'))));
  closers.push(async () => {
    const closed = all.map((c) => (c.closed ? undefined : next(c, 'close')));
    for (const c of all) c.destroy();
    await Promise.all(closed);
  });
  return servers.map((server, i) => ({ server, client: clients[i]! }));
}

function media(seed: number, length: number, timestamp: number): RtmpMessage {
  const payload = new Uint8Array(length);
  for (let i = 0; i < length; i++) payload[i] = (i * 13 + seed) & 0xff;
  return { type: 9, streamId: 1, timestamp, payload };
}

describe('sharedReadBuffer', () => {
  it('reads without data events, and every payload stays intact after later reads reuse the buffer', async () => {
    const [pair] = await pairs(1);
    const { server, client } = pair!;
    expect(server.socket.listenerCount('data')).toBe(0);
    client.setChunkSize(4096);
    const sent: RtmpMessage[] = [];
    // One-chunk, multi-chunk and larger-than-a-read messages, so they start, span and end anywhere in the reads.
    for (let i = 0; i < 300; i++) sent.push(media(i, [40, 3000, 9000, 70_000, 150_000][i % 5]!, i * 10));
    const got: RtmpMessage[] = [];
    server.on('message', (m) => got.push(m));
    for (const m of sent) client.send(m);
    await until(() => got.length === sent.length, 20_000, 'every message');
    // Compared only now: a payload that aliased the shared buffer would hold later bytes.
    for (let i = 0; i < sent.length; i++) {
      expect(got[i]!.timestamp).toBe(sent[i]!.timestamp);
      expect(Buffer.compare(got[i]!.payload, sent[i]!.payload), `message ${i}`).toBe(0);
    }
  });

  it('serves several connections at once from the one buffer', async () => {
    const list = await pairs(3);
    const received = list.map(() => [] as RtmpMessage[]);
    for (const [k, { server }] of list.entries()) server.on('message', (m) => received[k]!.push(m));
    for (const { client } of list) client.setChunkSize(1000);
    const expected = list.map((_, k) =>
      Array.from({ length: 60 }, (_, i) => media(k * 100 + i, 500 + 977 * i, i)),
    );
    // Interleaved writes: the sockets' reads alternate in the event loop.
    for (let i = 0; i < 60; i++) {
      for (const [k, { client }] of list.entries()) client.send(expected[k]![i]!);
    }
    await until(() => received.every((r) => r.length === 60), 20_000, 'every message');
    for (let k = 0; k < list.length; k++) {
      for (let i = 0; i < 60; i++) {
        expect(Buffer.compare(received[k]![i]!.payload, expected[k]![i]!.payload)).toBe(0);
      }
    }
  });

  it('closes when the peer ends the connection', async () => {
    const [pair] = await pairs(1);
    const closed = next(pair!.server, 'close');
    pair!.client.close();
    await closed;
    expect(pair!.server.closed).toBe(true);
  });

  it.skipIf(!hasTool('openssl'))('leaves a TLS socket on data events', async () => {
    const { key, cert } = selfSignedCert();
    const listener = tls.createServer({ key, cert });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const accepted = new Promise<RtmpConnection>((resolve) =>
      listener.once('secureConnection', (socket) =>
        resolve(new RtmpConnection(socket, { role: 'server', sharedReadBuffer: true })),
      ),
    );
    const client = new RtmpConnection(tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }), {
      role: 'client',
    });
    const server = await accepted;
    listener.close();
    closers.push(async () => {
      const closed = [server, client].map((c) => (c.closed ? undefined : next(c, 'close')));
      server.destroy();
      client.destroy();
      await Promise.all(closed);
    });
    expect(server.socket.listenerCount('data')).toBe(1);
    await Promise.all([server, client].map((c) => (c.ready ? undefined : next(c, 'ready'))));
    const got = next<[RtmpMessage]>(server, 'message');
    client.send(media(1, 5000, 7));
    const [message] = await got;
    expect(Buffer.compare(message.payload, media(1, 5000, 7).payload)).toBe(0);
  });
});
