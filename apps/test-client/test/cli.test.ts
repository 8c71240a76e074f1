import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type RtmpServer, reject } from '@rtmp/server';
import { fixture, hasTool, probe } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, startServer } from './helpers.js';

let server: RtmpServer | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-cli-'));
  dirs.push(dir);
  return dir;
}

const haveFfprobe = hasTool('ffprobe');

describe('usage', () => {
  it('every command has --help (exit 0)', async () => {
    for (const command of ['publish', 'play', 'probe', 'load']) {
      const result = await cli([command, '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout).toContain(`Usage: rtmp-test-client ${command}`);
    }
    const main = await cli(['--help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toContain('Exit codes');
  });

  it('usage errors exit 2', async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['publish', '--bogus', 'x'])).code).toBe(2);
    expect((await cli(['play'])).code).toBe(2);
    const bad = await cli(['probe', 'http://example.com/live/x', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.json).toMatchObject({ ok: false, error: { code: 'ERR_RTMP_INVALID_URL' } });
  });

  it('a refused connection exits 1', async () => {
    const started = await startServer();
    const port = started.port;
    await started.server.stop();
    const result = await cli(['probe', `rtmp://127.0.0.1:${port}/live/x`, '--json']);
    expect(result.code).toBe(1);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'ERR_RTMP_SOCKET' } });
  });
});

describe('against RtmpServer + LiveRelay', () => {
  it('play records what publish sends (file, --fast)', async () => {
    const started = await startServer();
    server = started.server;
    const url = `${started.url}/cli1`;
    const out = path.join(tempDir(), 'out.flv');
    const playing = new Promise((resolve) => started.server.once('play', resolve));
    const player = cli(['play', url, '-o', out, '--json', '--duration', '20']);
    await playing;
    const publisher = await cli(['publish', fixture('small_h264_aac.flv'), url, '--fast', '--json']);
    expect(publisher.code, publisher.stderr).toBe(0);
    expect(publisher.json).toMatchObject({
      ok: true,
      command: 'publish',
      handshake: 'digest',
      videoFrames: 100,
    });
    const played = await player;
    expect(played.code, played.stderr).toBe(0);
    expect(played.json).toMatchObject({ ok: true, command: 'play', videoFrames: 100, output: out });
    expect(played.json.codecs.map((c: { codecString: string }) => c.codecString).sort()).toEqual([
      'avc1.64000D',
      'mp4a.40.2',
    ]);
    expect(played.json.metadata).toMatchObject({ width: 320, height: 240 });
    expect(played.json.endReason).toMatch(/UnpublishNotify|Play\.Stop|StreamEOF/);
    if (haveFfprobe) {
      const streams = await probe(out);
      expect(streams.find((s) => s.codec_name === 'h264')?.nb_read_packets).toBe('100');
    }
  });

  it('publish --follow-reconnect moves to the server a reconnect request names, at the next keyframe', async () => {
    const oldServer = await startServer();
    const newServer = await startServer();
    server = oldServer.server;
    try {
      const out = path.join(tempDir(), 'moved.flv');
      const playing = new Promise((resolve) => newServer.server.once('play', resolve));
      const player = cli(['play', `${newServer.url}/moving`, '-o', out, '--json', '--duration', '20']);
      await playing;
      // The old server asks once the publish has run for a second (the fixture's keyframes are at 0 and 2 s).
      oldServer.server.once('publish', (session) => {
        setTimeout(
          () => session.requestReconnect({ tcUrl: newServer.url, description: 'maintenance' }),
          1000,
        );
      });
      const publisher = await cli([
        'publish',
        fixture('small_h264_aac.flv'),
        `${oldServer.url}/moving`,
        '--follow-reconnect',
        '--json',
      ]);
      expect(publisher.code, publisher.stderr).toBe(0);
      expect(publisher.stderr).toContain(`moved to ${newServer.url}/moving`);
      expect(publisher.json).toMatchObject({
        ok: true,
        videoFrames: 100,
        reconnects: [`${newServer.url}/moving`],
      });
      expect(oldServer.server.sessions.size).toBe(0);
      const played = await player;
      expect(played.code, played.stderr).toBe(0);
      // From the 2 s keyframe on: half the fixture's 100 video frames, with both sequence headers sent again.
      expect(played.json).toMatchObject({ ok: true, videoFrames: 50 });
      expect(played.json.codecs.map((c: { codecString: string }) => c.codecString).sort()).toEqual([
        'avc1.64000D',
        'mp4a.40.2',
      ]);
      expect(played.json.metadata).toMatchObject({ width: 320, height: 240 });
      if (haveFfprobe) {
        const streams = await probe(out);
        expect(streams.find((s) => s.codec_name === 'h264')?.nb_read_packets).toBe('50');
      }
    } finally {
      await newServer.server.stop();
    }
  });

  it('publish keeps extended timestamps and paces from the first media tag (realtime)', async () => {
    const started = await startServer();
    server = started.server;
    const url = `${started.url}/ext`;
    const playing = new Promise((resolve) => started.server.once('play', resolve));
    const player = cli(['play', url, '--json', '--duration', '20']);
    await playing;
    const began = Date.now();
    const publisher = await cli(['publish', fixture('extended_ts_h264_aac.flv'), url, '--json']);
    expect(publisher.code, publisher.stderr).toBe(0);
    // Real time: about the file's 4 s, not the 4.7 hours its first timestamp would suggest.
    expect(Date.now() - began).toBeLessThan(15_000);
    expect(publisher.json.mediaMs).toBeGreaterThan(3_000);
    const played = await player;
    expect(played.code, played.stderr).toBe(0);
    expect(played.json.videoFrames).toBe(publisher.json.videoFrames);
    expect(played.json.gaps.count).toBe(0);
  });

  it('probe reads a synthetic publish: codecs, resolution, handshake kind', async () => {
    const started = await startServer();
    server = started.server;
    const url = `${started.url}/synth`;
    const publishing = new Promise((resolve) => started.server.once('publish', resolve));
    const publisher = cli([
      'publish',
      '--synthetic',
      url,
      '--duration',
      '4',
      '--width',
      '640',
      '--height',
      '360',
      '--json',
    ]);
    await publishing;
    const probed = await cli(['probe', url, '--json', '--simple-handshake']);
    expect(probed.code, probed.stderr).toBe(0);
    expect(probed.json).toMatchObject({ ok: true, handshake: 'simple', resolution: '640x360' });
    expect(probed.json.codecs.map((c: { codecString: string }) => c.codecString).sort()).toEqual([
      'avc1.42C028',
      'mp4a.40.2',
    ]);
    expect(probed.json.metadata).toMatchObject({ width: 640, height: 360, framerate: 30 });
    const published = await publisher;
    expect(published.code, published.stderr).toBe(0);
    expect(published.json.videoFrames).toBeGreaterThanOrEqual(115);
  });

  it('probe of a stream with no publisher exits 4', async () => {
    const started = await startServer();
    server = started.server;
    const probed = await cli(['probe', `${started.url}/nobody`, '--wait', '1', '--json']);
    expect(probed.code).toBe(4);
    expect(probed.json).toMatchObject({ ok: false, codecs: [] });
  });

  it('a rejected publish exits 3 with the server status', async () => {
    const started = await startServer(() => ({
      handlePublish: () => reject('bad key', 'NetStream.Publish.Unauthorized'),
    }));
    server = started.server;
    const result = await cli(['publish', '--synthetic', `${started.url}/x`, '--duration', '1', '--json']);
    expect(result.code).toBe(3);
    expect(result.json).toMatchObject({
      ok: false,
      exitCode: 3,
      error: { code: 'ERR_RTMP_PUBLISH_REJECTED', status: { code: 'NetStream.Publish.Unauthorized' } },
    });
  });

  it('load drives publishers and players and reports latency', async () => {
    const started = await startServer();
    server = started.server;
    const result = await cli([
      'load',
      `${started.url}/load`,
      '--publishers',
      '2',
      '--players',
      '6',
      '--duration',
      '2',
      '--video-bitrate',
      '1M',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const r = result.json;
    expect(r).toMatchObject({ ok: true, publishers: 2, players: 6, playersConnected: 6 });
    expect(r.sent.videoFrames).toBeGreaterThan(100);
    expect(r.delivered.frames).toBeGreaterThan(0);
    expect(r.delivered.expectedFrames).toBe((r.sent.videoFrames + r.sent.audioFrames) * 3);
    expect(r.dropRate).toBeLessThan(0.05);
    expect(r.latencyMs.samples).toBeGreaterThan(100);
    expect(r.latencyMs.p50).toBeGreaterThanOrEqual(0);
    expect(r.latencyMs.p99).toBeGreaterThanOrEqual(r.latencyMs.p50);
  });
});
