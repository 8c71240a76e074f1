import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { ffmpegPublish, fixture, hasTool } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkStreamSignature,
  LiveRelay,
  RtmpServer,
  type SignatureRefusal,
  signedUrlHandler,
  signUrl,
} from '../src/index.js';

const haveFfmpeg = hasTool('ffmpeg');

let server: RtmpServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

interface NmsBroadcast {
  verifyAuth(secret: string, session: { streamPath: string; streamQuery: Record<string, string> }): boolean;
}

describe("node-media-server's sign format", () => {
  it("our node-media-server links pass node-media-server's own check, and its links pass ours", () => {
    // node-media-server's verifier, from the package itself (a devDependency), not a copy.
    const BroadcastServer: new (path: string) => NmsBroadcast = createRequire(import.meta.url)(
      'node-media-server/src/server/broadcast_server.js',
    );
    const nms = new BroadcastServer('/live/cam1');
    const url = signUrl('rtmp://h/live/cam1', {
      secret: 'nms-secret',
      action: 'play',
      format: 'node-media-server',
    });
    const sign = new URL(url).searchParams.get('sign') ?? '';
    expect(nms.verifyAuth('nms-secret', { streamPath: '/live/cam1', streamQuery: { sign } })).toBe(true);
    expect(nms.verifyAuth('other', { streamPath: '/live/cam1', streamQuery: { sign } })).toBe(false);
    // A link made as node-media-server's API makes them (md5 of "<streamPath>-<expiry>-<secret>") passes ours.
    const expires = Math.floor(Date.now() / 1000) + 600;
    const theirs = `${expires}-${createHash('md5').update(`/live/cam1-${expires}-nms-secret`).digest('hex')}`;
    const policy = { playSecret: 'nms-secret', nodeMediaServer: true };
    expect(
      checkStreamSignature(policy, { action: 'play', app: 'live', key: 'cam1', query: { sign: theirs } }),
    ).toEqual({
      valid: true,
    });
  });
});

describe.skipIf(!haveFfmpeg)('signedUrlHandler with FFmpeg', () => {
  it('accepts a signed publish, refuses an unsigned or expired one with NetStream.Publish.Unauthorized', async () => {
    const relay = new LiveRelay();
    const refusals: SignatureRefusal[] = [];
    const published: string[] = [];
    server = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      handler: signedUrlHandler(
        { publishSecret: 'sesame', onRefused: (r) => void refusals.push(r) },
        relay.handler(() => ({ handlePublishStart: (info) => void published.push(info.streamKey) })),
      ),
    });
    const port = await server.start();
    const url = `rtmp://127.0.0.1:${port}/live/cam1`;
    const unsigned = await ffmpegPublish(fixture('small_h264_aac.flv'), url, { timeoutMs: 20_000 }).done;
    expect(unsigned.code).not.toBe(0);
    expect(unsigned.stderr).toMatch(/NetStream\.Publish\.Unauthorized/);
    const expired = signUrl(url, {
      secret: 'sesame',
      action: 'publish',
      expires: Math.floor(Date.now() / 1000) - 1,
    });
    expect(
      (await ffmpegPublish(fixture('small_h264_aac.flv'), expired, { timeoutMs: 20_000 }).done).code,
    ).not.toBe(0);
    expect(refusals.map((r) => `${r.action} ${r.app}/${r.key} ${r.reason}`)).toEqual([
      'publish live/cam1 missing',
      'publish live/cam1 expired',
    ]);
    const signed = await ffmpegPublish(
      fixture('small_h264_aac.flv'),
      signUrl(url, { secret: 'sesame', action: 'publish' }),
      {
        timeoutMs: 20_000,
      },
    ).done;
    expect(signed.code, signed.stderr).toBe(0);
    expect(published).toEqual(['cam1']);
  });

  it('checks its secrets', () => {
    expect(() => signedUrlHandler({ publishSecret: '' })).toThrow(
      expect.objectContaining({ code: 'ERR_RTMP_INVALID_OPTION' }),
    );
  });
});
