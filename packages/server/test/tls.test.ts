import { rmSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ffmpegPublish, fixture, hasTool, selfSignedCert, until } from '@rtmp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveRelay, RtmpConnection, type RtmpError, RtmpServer, type RtmpStatus } from '../src/index.js';
import { type Recorded, recordingHandler } from './helpers/recorder.js';

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

async function tlsClient(port: number): Promise<RtmpConnection> {
  const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
  const c = new RtmpConnection(socket, { role: 'client' });
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('close', (e) => reject(e ?? new Error('closed')));
  });
  return c;
}

describe.skipIf(!haveTools)('RTMPS', () => {
  it('FFmpeg publishes over rtmps:// and the handler gets every sample', async () => {
    const records: Recorded[] = [];
    await using server = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      tls: { key, cert },
      handler: recordingHandler(records),
    });
    const port = await server.start();
    const publisher = ffmpegPublish(fixture('small_h264_aac.flv'), `rtmps://127.0.0.1:${port}/live/secure`);
    const result = await publisher.done;
    expect(result.code, result.stderr).toBe(0);
    await until(() => records[0]?.disconnects.length === 1, 5_000, 'disconnect');
    const r = records[0]!;
    expect(r.publish?.streamKey).toBe('secure');
    expect(r.video.filter((v) => v.kind === 'video')).toHaveLength(100);
    expect(r.audio.filter((a) => a.kind === 'audio')).toHaveLength(174);
    expect(r.disconnects).toEqual([undefined]);
  });

  it('our client role over tls.connect plays from the relay while FFmpeg publishes over RTMPS', async () => {
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

    const c = await tlsClient(port);
    await c.call('connect', [{ app: 'live', tcUrl: `rtmps://127.0.0.1:${port}/live` }]);
    const id = (await c.call('createStream', [null])).args[0] as number;
    const statuses: string[] = [];
    const stopped = new Promise<void>((resolve) =>
      c.on('status', (s: RtmpStatus) => {
        statuses.push(s.code);
        if (s.code === 'NetStream.Play.Stop') resolve();
      }),
    );
    let video = 0;
    let audio = 0;
    c.on('message', (m) => {
      if (m.type === 9) video++;
      if (m.type === 8) audio++;
    });
    c.sendCommand('play', 0, [null, 'secure'], id);
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
