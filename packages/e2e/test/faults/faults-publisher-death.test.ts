// Publisher deaths (SIGKILL, network cuts) seen by the relay and its players; our client plays the well-behaved
// publishers and players, the server runs in the hostile tests' harness.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CuttableProxy,
  ffmpegPlay,
  ffmpegPublish,
  fixture,
  hasTool,
  openFds,
  sleep,
  until,
} from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { flvTags } from '../../../server/test/hostile/lib.js';
import { type Harness, startHarness } from '../../../server/test/hostile/server-harness.js';
import { player, publisher, type TestPublisher, tagType } from '../helpers/peers.js';

const IDLE = 2000;
const PING = 500;
// The server notices a silent peer on its keepalive tick: min(idle, ping) / 4.
const DETECT_BOUND = IDLE + 1500;

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const tags = flvTags('small_h264_aac.flv');

/** Sends the fixture's headers and its first `count` media tags. */
function feed(pub: TestPublisher, count: number): void {
  let sent = 0;
  for (const tag of tags) {
    if (tag.type === 18) continue;
    pub.publisher.write(tagType(tag.type), tag.timestamp, tag.body);
    if (++sent >= count) break;
  }
}

describe.skipIf(!(hasTool('ffmpeg') && hasTool('ffprobe')))('a publisher killed with SIGKILL', () => {
  it('ends the FFmpeg player with what it got so far and frees the key at once', async () => {
    h = await startHarness({ idleTimeout: IDLE, pingInterval: PING });
    const harness = h;
    const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-kill-'));
    const url = `rtmp://127.0.0.1:${harness.port}/live/killed`;
    const out = path.join(dir, 'out.flv');
    const ffplayer = ffmpegPlay(url, out, 30_000);
    await until(() => harness.relay.stats().some((s) => s.players === 1), 10_000, 'player');
    const pub = ffmpegPublish(fixture('small_h264_aac.flv'), url, {
      realtime: true,
      extra: ['-stream_loop', '3'],
    });
    await until(() => harness.relay.isLive('live/killed'), 10_000, 'publisher');
    await sleep(1500);
    const killedAt = Date.now();
    pub.child.kill('SIGKILL');
    await until(() => !harness.relay.isLive('live/killed'), DETECT_BOUND, 'key free');
    const freedMs = Date.now() - killedAt;
    const played = await ffplayer.done;
    const endedMs = Date.now() - killedAt;
    expect(played.code, played.stderr.slice(-500)).toBe(0);
    const again = await publisher(harness.port, 'killed');
    expect(harness.relay.isLive('live/killed')).toBe(true);
    again.client.destroy();
    console.log(`SIGKILL: key free after ${freedMs} ms, FFmpeg player ended after ${endedMs} ms`);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);
});

describe('a network cut (no FIN, no RST)', () => {
  it('is detected within the idle timeout: players get end-of-stream and the key is free again', async () => {
    h = await startHarness({ idleTimeout: IDLE, pingInterval: PING });
    const harness = h;
    const proxy = new CuttableProxy(harness.port);
    const proxyPort = await proxy.listen();
    const pub = await publisher(proxyPort, 'cut');
    const viewer = await player(harness.port, 'cut');
    feed(pub, 50);
    await until(() => viewer.media.length >= 50, 5000, 'media');
    proxy.cut();
    const cutAt = Date.now();
    await viewer.status('NetStream.Play.UnpublishNotify', DETECT_BOUND + 1000);
    const eofMs = Date.now() - cutAt;
    expect(harness.relay.isLive('live/cut')).toBe(false);
    expect(eofMs).toBeLessThan(DETECT_BOUND);
    // The publisher's server session is behind the proxy: the only session that ended with an error.
    const codes = [...harness.sessions.values()].flat().flatMap((r) => r.errors.map((e) => e.code));
    expect(codes.length).toBe(1);
    const code = codes[0];
    expect(['ERR_RTMP_PING_TIMEOUT', 'ERR_RTMP_IDLE_TIMEOUT']).toContain(code);
    const again = await publisher(harness.port, 'cut');
    again.client.destroy();
    viewer.client.destroy();
    pub.client.destroy();
    await proxy.close();
    console.log(`network cut: player got UnpublishNotify ${eofMs} ms after the cut (${code})`);
  }, 20_000);

  it('leaks no file descriptor and no memory over 50 kill/cut cycles', async () => {
    h = await startHarness({ idleTimeout: IDLE, pingInterval: PING });
    const harness = h;
    const fds0 = openFds();
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const ROUNDS = 5;
    const PER_ROUND = 10;
    for (let round = 0; round < ROUNDS; round++) {
      const proxy = new CuttableProxy(harness.port);
      const proxyPort = await proxy.listen();
      const pubs: TestPublisher[] = [];
      const viewers = [];
      for (let i = 0; i < PER_ROUND; i++) {
        const key = `cycle-${round}-${i}`;
        // Even ones go through the proxy and get cut; odd ones die like a killed process (RST).
        pubs.push(await publisher(i % 2 === 0 ? proxyPort : harness.port, key));
        viewers.push(await player(harness.port, key));
      }
      for (const pub of pubs) feed(pub, 20);
      await sleep(100);
      proxy.cut();
      pubs.forEach((pub, i) => {
        if (i % 2 === 1) pub.client.connection!.socket.resetAndDestroy();
      });
      await Promise.all(viewers.map((v) => v.status('NetStream.Play.UnpublishNotify', DETECT_BOUND + 1000)));
      expect(harness.relay.liveKeys()).toEqual([]);
      for (const v of viewers) v.client.destroy();
      for (const p of pubs) p.client.destroy();
      await proxy.close();
    }
    await until(() => harness.server.sessions.size === 0, 5000, 'sessions closed');
    await sleep(100);
    global.gc?.();
    const fds1 = openFds();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
    console.log(`cycles: fds ${fds0} -> ${fds1}; heap growth ${heapGrowthMb.toFixed(1)} MiB`);
    expect(fds1).toBeLessThanOrEqual(fds0 + 2);
    expect(harness.relay.stats()).toEqual([]);
    expect(heapGrowthMb).toBeLessThan(50);
  }, 60_000);
});
