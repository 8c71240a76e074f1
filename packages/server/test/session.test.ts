import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { ffmpegPublish, fixture, hasTool, next, readOracle, run, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RtmpConnection,
  RtmpServer,
  type RtmpStatus,
  reject,
  type RtmpServer as Server,
} from '../src/index.js';
import { type Recorded, recordingHandler } from './helpers/recorder.js';

let server: Server | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function client(port: number): Promise<RtmpConnection> {
  const c = new RtmpConnection(net.connect(port, '127.0.0.1'), { role: 'client' });
  await next(c, 'ready');
  return c;
}

function status(c: RtmpConnection): Promise<RtmpStatus> {
  return next<[RtmpStatus]>(c, 'status').then(([s]) => s);
}

describe('ClientSession commands (our client role against our server)', () => {
  it('answers the full command set; publish again after deleteStream; several streams', async () => {
    const records: Recorded[] = [];
    server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: recordingHandler(records) });
    const c = await client(await server.start());
    const connected = await c.call('connect', [
      { app: 'live', tcUrl: 'not a url at all', capsEx: 15, fourCcList: ['av01'] },
    ]);
    expect(connected.commandObject).toMatchObject({ fmsVer: 'FMS/3,0,1,123', capabilities: 31, capsEx: 15 });
    expect(connected.args[0]).toMatchObject({ code: 'NetConnection.Connect.Success', objectEncoding: 0 });
    expect(c.inChunkSize).toBe(4096);
    expect(c.peerWindowAckSize).toBe(2_500_000);
    await c.call('releaseStream', [null, 'a']);
    await c.call('FCPublish', [null, 'a']);
    expect((await c.call('getStreamLength', [null, 'a'])).args[0]).toBe(0);
    const unknown = await c.call('_someUnknown', [null]).catch((e: { code: string }) => e.code);
    expect(unknown).toBe('ERR_RTMP_CALL_FAILED');
    const s1 = (await c.call('createStream', [null])).args[0];
    const s2 = (await c.call('createStream', [null])).args[0];
    expect([s1, s2]).toEqual([1, 2]);
    const started = status(c);
    c.sendCommand('publish', 0, [null, 'a', 'live'], 1);
    expect(await started).toMatchObject({ code: 'NetStream.Publish.Start', streamId: 1 });
    const started2 = status(c);
    c.sendCommand('publish', 0, [null, 'b', 'live'], 2);
    expect(await started2).toMatchObject({ code: 'NetStream.Publish.Start', streamId: 2 });
    c.sendCommand('deleteStream', 0, [null, 1]);
    const s3 = (await c.call('createStream', [null])).args[0];
    expect(s3).toBe(1);
    const again = status(c);
    c.sendCommand('publish', 0, [null, 'a', 'live'], 1);
    expect(await again).toMatchObject({ code: 'NetStream.Publish.Start' });
    await until(() => records[0]?.calls.filter((x) => x === 'unpublish').length === 1, 2_000, 'unpublish');
    c.destroy();
    await until(() => records[0]?.calls.at(-1) === 'disconnect', 2_000, 'disconnect');
    expect(records[0]!.calls.filter((x) => x === 'disconnect')).toHaveLength(1);
    expect(records[0]!.calls.filter((x) => x === 'unpublish')).toHaveLength(3);
  });

  it('drops media sent before publish, holds media sent while the decision is pending', async () => {
    const records: Recorded[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    server = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      demux: false,
      handler: recordingHandler(records, () => ({ handlePublish: () => gate })),
    });
    const c = await client(await server.start());
    await c.call('connect', [{ app: 'live' }]);
    await c.call('createStream', [null]);
    c.send({ type: 9, streamId: 1, timestamp: 0, payload: new Uint8Array([0x17, 1, 0, 0, 0, 1]) });
    await new Promise((r) => setTimeout(r, 50));
    c.sendCommand('publish', 0, [null, 'k', 'live'], 1);
    c.send({ type: 9, streamId: 1, timestamp: 40, payload: new Uint8Array([0x17, 1, 0, 0, 0, 2]) });
    await new Promise((r) => setTimeout(r, 50));
    expect(records[0]!.video).toHaveLength(0);
    const started = status(c);
    release();
    await started;
    c.send({ type: 9, streamId: 1, timestamp: 80, payload: new Uint8Array([0x17, 1, 0, 0, 0, 3]) });
    await until(() => (records[0]?.video.length ?? 0) >= 2, 2_000, 'video');
    expect(records[0]!.video.map((v) => (v.kind === 'raw' ? v.timestamp : -1))).toEqual([40, 80]);
    c.destroy();
  });

  it('a throwing handler ends that connection only, reported once as ERR_RTMP_HANDLER_FAILED', async () => {
    const errors: string[] = [];
    server = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      handler: () => ({
        handleConnect: (info) => {
          if (info.app === 'bad') throw new Error('handler bug');
        },
      }),
    });
    server.on('sessionError', (_s, e) => errors.push(e.code));
    const port = await server.start();
    const bad = await client(port);
    const good = await client(port);
    const closed = next(bad, 'close');
    bad.call('connect', [{ app: 'bad' }]).catch(() => {});
    await closed;
    expect((await good.call('connect', [{ app: 'good' }])).args[0]).toMatchObject({
      code: 'NetConnection.Connect.Success',
    });
    expect(errors).toEqual(['ERR_RTMP_HANDLER_FAILED']);
    good.destroy();
  });

  it('refuses connections above maxConnections and sends players StreamEOF on stop()', async () => {
    server = new RtmpServer({ host: '127.0.0.1', port: 0, maxConnections: 1, handler: () => ({}) });
    const refused: string[] = [];
    server.on('connectionRefused', (e) => refused.push(e.code));
    const port = await server.start();
    const c = await client(port);
    const extra = net.connect(port, '127.0.0.1');
    extra.on('error', () => {});
    await new Promise((r) => extra.once('close', r));
    expect(refused).toEqual(['ERR_RTMP_MAX_CONNECTIONS']);
    await c.call('connect', [{ app: 'live' }]);
    await c.call('createStream', [null]);
    const codes: string[] = [];
    c.on('status', (s) => codes.push(s.code));
    const eof = new Promise<void>((resolve) =>
      c.on('control', (m) => m.type === 'userControl' && m.event.type === 'streamEof' && resolve()),
    );
    c.sendCommand('play', 0, [null, 'x', -2000], 1);
    await until(() => codes.includes('NetStream.Play.Start'), 2_000, 'play start');
    expect(codes).toEqual(['NetStream.Play.Reset', 'NetStream.Play.Start']);
    await server.stop();
    await eof;
    expect(codes).toContain('NetStream.Play.UnpublishNotify');
  });
});

const haveFfmpeg = hasTool('ffmpeg');

describe.skipIf(!haveFfmpeg)('rejections seen by FFmpeg', () => {
  for (const [what, override, code] of [
    ['connect', { handleConnect: () => reject('nope') }, 'NetConnection.Connect.Rejected'],
    ['publish', { handlePublish: () => reject('bad key') }, 'NetStream.Publish.Rejected'],
  ] as const) {
    it(`${what} refused: FFmpeg exits non-zero with ${code}, no media accepted`, async () => {
      const records: Recorded[] = [];
      server = new RtmpServer({
        host: '127.0.0.1',
        port: 0,
        handler: recordingHandler(records, () => override),
      });
      const port = await server.start();
      const result = await ffmpegPublish(fixture('small_h264_aac.flv'), `rtmp://127.0.0.1:${port}/live/k`)
        .done;
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(code);
      await until(() => records[0]?.disconnects.length === 1, 5_000, 'disconnect');
      expect(records[0]!.video).toHaveLength(0);
      expect(records[0]!.audio).toHaveLength(0);
    });
  }

  it('play refused: FFmpeg exits non-zero with NetStream.Play.StreamNotFound', async () => {
    server = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      handler: () => ({ handlePlay: () => reject('no such') }),
    });
    const port = await server.start();
    const result = await run('ffmpeg', [
      '-hide_banner',
      '-i',
      `rtmp://127.0.0.1:${port}/live/k`,
      '-f',
      'null',
      '-',
    ]).done;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('NetStream.Play.StreamNotFound');
  });
});

describe('captures replayed byte for byte', () => {
  interface Rec {
    dir: number;
    bytes: Uint8Array;
  }
  function records(name: string): Rec[] {
    const data = readFileSync(fixture(`captures/${name}`));
    const out: Rec[] = [];
    let at = 0;
    while (at + 9 <= data.length) {
      const length = data.readUInt32BE(at + 5);
      out.push({ dir: data[at]!, bytes: data.subarray(at + 9, at + 9 + length) });
      at += 9 + length;
    }
    return out;
  }

  for (const [capture, oracle] of [
    ['ffmpeg-publish-h264-aac.rtmpcap', 'small_h264_aac.packets.csv'],
    ['ffmpeg-publish-extended-timestamp.rtmpcap', 'extended_ts_h264_aac.packets.csv'],
    ['librtmp-publish-h264-aac.rtmpcap', undefined],
  ] as const) {
    it(`${capture} produces the published samples`, async () => {
      const recorded: Recorded[] = [];
      server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: recordingHandler(recorded) });
      const port = await server.start();
      const socket = net.connect(port, '127.0.0.1');
      socket.on('data', () => {});
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      for (const rec of records(capture)) {
        if (rec.dir !== 0) continue;
        socket.write(rec.bytes);
        // Keep the original read boundaries: let each record reach the server as one read.
        await new Promise((r) => setImmediate(r));
      }
      const videoCount = oracle ? readOracle(oracle).filter((p) => p.type === 'video').length : 100;
      await until(
        () => (recorded[0]?.video.filter((v) => v.kind === 'video').length ?? 0) >= videoCount,
        10_000,
        'samples',
      );
      const r = recorded[0]!;
      expect(r.calls.slice(0, 3)).toEqual(['init', 'connect', 'publish']);
      const video = r.video.filter((v) => v.kind === 'video');
      const audio = r.audio.filter((a) => a.kind === 'audio');
      if (oracle) {
        const o = readOracle(oracle);
        expect(video.map((v) => (v.kind === 'video' ? [v.dts, v.pts, v.keyframe] : []))).toEqual(
          o.filter((p) => p.type === 'video').map((p) => [p.dts, p.pts, p.keyframe]),
        );
        expect(audio).toHaveLength(o.filter((p) => p.type === 'audio').length);
      } else {
        expect(video).toHaveLength(100);
        expect(audio).toHaveLength(174);
      }
      socket.destroy();
      await until(() => r.disconnects.length === 1, 5_000, 'disconnect');
    });
  }
});
