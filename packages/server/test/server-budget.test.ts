import * as net from 'node:net';
import { encodeMessage, type RtmpMessage } from '@rtmp/chunk';
import { next } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { RtmpConnection, RtmpError, RtmpServer } from '../src/index.js';

function video(length: number, timestamp = 0): RtmpMessage {
  return { type: 9, streamId: 1, timestamp, payload: new Uint8Array(length).fill(0x17) };
}

function joined(slices: readonly Uint8Array[]): Buffer {
  return Buffer.concat(slices.map((s) => Buffer.from(s.buffer, s.byteOffset, s.byteLength)));
}

describe('memory limits for incomplete messages across the server', () => {
  it('RtmpServer: maxTotalBufferedBytes closes the biggest holder and reports it once', async () => {
    const server = new RtmpServer({
      port: 0,
      host: '127.0.0.1',
      maxTotalBufferedBytes: 250_000,
      handler: () => ({}),
    });
    const port = await server.start();
    const errors: string[] = [];
    server.on('sessionError', (_s, e) => errors.push(e.code));
    const open = async () => {
      const c = new RtmpConnection(net.connect(port, '127.0.0.1'), { role: 'client' });
      await next(c, 'ready');
      return c;
    };
    const small = await open();
    const big = await open();
    const message = joined(encodeMessage(video(1_000_000), 6, 128));
    for (let off = 0; off < 100_000; off += 10_000) small.socket.write(message.subarray(off, off + 10_000));
    await expect.poll(() => server.bufferedBytes).toBeGreaterThanOrEqual(90_000);
    const bigClosed = next(big, 'close');
    for (let off = 0; off < 200_000; off += 10_000) big.socket.write(message.subarray(off, off + 10_000));
    await bigClosed;
    await expect.poll(() => errors).toEqual(['ERR_RTMP_MEMORY_BUDGET']);
    expect(small.closed).toBe(false);
    small.destroy();
    await server.stop();
    expect(server.bufferedBytes).toBe(0);
    expect(() => new RtmpServer({ handler: () => ({}), maxTotalBufferedBytes: 0 })).toThrow(RtmpError);
  });
});
