// RTMPS with FFmpeg publishing; our client playing over RTMPS is tested in packages/e2e (tls-play.test.ts).
import { rmSync } from 'node:fs';
import { ffmpegPublish, fixture, hasTool, selfSignedCert, until } from '@rtmp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtmpServer } from '../src/index.js';
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
});
