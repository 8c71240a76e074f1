// Our client playing over RTMPS from the server's relay while FFmpeg publishes over RTMPS.
import { rmSync } from 'node:fs';
import * as net from 'node:net';
import { RtmpClient } from '@rtmp/client';
import type { RtmpError, RtmpStatus } from '@rtmp/connection';
import { LiveRelay, RtmpServer } from '@rtmp/server';
import { ffmpegPublish, fixture, hasTool, selfSignedCert, until } from '@rtmp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const haveTools = hasTool('ffmpeg') && hasTool('openssl');

let dir: string;
let key: Buffer;
let cert: Buffer;
beforeAll(() => {
  if (!haveTools) return;
  ({ key, cert, dir } = selfSignedCert());
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveTools)('RTMPS', () => {
  it('our client over rtmps:// plays from the relay while FFmpeg publishes over RTMPS', async () => {
    const relay = new LiveRelay();
    const errors: RtmpError[] = [];
    await using server = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      tls: { key, cert },
      handler: relay.handler(),
    });
    server.on('sessionError', (_s, e) => errors.push(e));
    const port = await server.start();
    // A plain-TCP client on the TLS port fails its TLS handshake: only that socket is closed.
    const plain = net.connect(port, '127.0.0.1');
    plain.on('error', () => {});
    plain.resume();
    plain.write(Buffer.alloc(1537, 3));
    await new Promise((r) => plain.once('close', r));

    const c = new RtmpClient({
      url: `rtmps://127.0.0.1:${port}/live/secure`,
      tls: { rejectUnauthorized: false },
    });
    await c.connect();
    const statuses: string[] = [];
    const stopped = new Promise<void>((resolve) =>
      c.on('status', (s: RtmpStatus) => {
        statuses.push(s.code);
        if (s.code === 'NetStream.Play.Stop') resolve();
      }),
    );
    let video = 0;
    let audio = 0;
    const player = await c.play({ demux: false });
    player.on('message', (m) => {
      if (m.type === 9) video++;
      if (m.type === 8) audio++;
    });
    await until(() => relay.stats().some((s) => s.players === 1), 5_000, 'player');
    const publisher = ffmpegPublish(fixture('small_h264_aac.flv'), `rtmps://127.0.0.1:${port}/live/secure`);
    expect((await publisher.done).code).toBe(0);
    await stopped;
    expect(statuses.slice(0, 2)).toEqual(['NetStream.Play.Reset', 'NetStream.Play.Start']);
    // Sequence header + 100 frames + FFmpeg's end of sequence; AAC config + 174 frames.
    expect(video).toBe(102);
    expect(audio).toBe(175);
    expect(errors).toEqual([]);
    c.destroy();
  });
});
