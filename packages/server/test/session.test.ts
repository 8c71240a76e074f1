// The server's sessions against FFmpeg and against captured client sessions replayed byte for byte; its command
// handling driven by our client is tested in packages/e2e (session-commands.test.ts).
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { ffmpegPublish, fixture, hasTool, readOracle, run, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpServer, reject, type RtmpServer as Server } from '../src/index.js';
import { type Recorded, recordingHandler } from './helpers/recorder.js';

let server: Server | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
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
