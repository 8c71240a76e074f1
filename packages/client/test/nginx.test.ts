import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ffmpegPublish,
  fixture,
  hasNginxRtmp,
  hasTool,
  type NginxRtmp,
  probePackets,
  readOracle,
  run,
  startNginxRtmp,
  until,
} from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpClient } from '../src/index.js';
import { checkSamples, collect, publishTags, readFlvTags } from './helpers/media.js';

const ready = hasNginxRtmp() && hasTool('ffmpeg') && hasTool('ffprobe');

// Established TCP connections whose local port is `port` (server side), from /proc/net/tcp and tcp6.
function establishedTo(port: number): number {
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (
        fields[3] === '01' &&
        local !== undefined &&
        Number.parseInt(local.split(':')[1] ?? '', 16) === port
      )
        count++;
    }
  }
  return count;
}

let nginx: NginxRtmp | undefined;
const clients: RtmpClient[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await nginx?.stop();
  nginx = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!ready)('against nginx-rtmp', () => {
  it('our client publishes while FFmpeg records from nginx: same packets as the source', async () => {
    // play_restart: nginx sends NetStream.Play.Stop when the publisher leaves, which is FFmpeg's end of input.
    nginx = await startNginxRtmp({ extraApplication: 'play_restart on;' });
    const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-client-'));
    dirs.push(dir);
    const out = path.join(dir, 'out.flv');
    const ffmpeg = run(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'info',
        '-i',
        `${nginx.url}/k1`,
        '-c',
        'copy',
        '-f',
        'flv',
        out,
      ],
      30_000,
    );
    // FFmpeg must be waiting in play before the first frame is published, or it joins late. On a loaded machine
    // its start-up alone can take longer than any fixed delay: wait for its connection to nginx, then for its play.
    await until(() => establishedTo(nginx!.port) > 0, 20_000, 'FFmpeg connected to nginx');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const client = new RtmpClient({ url: `${nginx.url}/k1` });
    clients.push(client);
    await client.connect();
    const publisher = await client.publish();
    await publishTags(publisher, readFlvTags(fixture('small_h264_aac.flv')), { realtime: true });
    await client.close();
    const result = await ffmpeg.done;
    expect(result.code, result.stderr + nginx.log()).toBe(0);

    const source = await probePackets(fixture('small_h264_aac.flv'));
    const recorded = await probePackets(out);
    const summary = (packets: typeof source) => ({
      video: packets.filter((p) => p.codec_type === 'video').map((p) => p.size),
      audio: packets.filter((p) => p.codec_type === 'audio').map((p) => p.size),
      keyframes: packets.filter((p) => p.codec_type === 'video' && p.flags.startsWith('K')).length,
    });
    expect(summary(recorded)).toEqual(summary(source));
  });

  it('our client plays from nginx while FFmpeg publishes: samples match the .packets.csv', async () => {
    nginx = await startNginxRtmp();
    const client = new RtmpClient({ url: `${nginx.url}/k2` });
    clients.push(client);
    await client.connect();
    const player = await client.play();
    const metadata: Record<string, unknown>[] = [];
    const codecs: string[] = [];
    player.on('metadata', (m) => metadata.push(m));
    player.on('codec', (c) => codecs.push(c.info.codecString));
    const items = collect(player);
    const ffmpeg = ffmpegPublish(fixture('small_h264_aac.flv'), `${nginx.url}/k2`, { realtime: true });
    const result = await ffmpeg.done;
    expect(result.code, result.stderr).toBe(0);
    const events = await items;
    expect(player.endReason?.code).toMatch(/UnpublishNotify|Play\.Stop|StreamEOF/);
    expect(metadata[0]).toMatchObject({ width: 320, height: 240 });
    expect(codecs.sort()).toEqual(['avc1.64000D', 'mp4a.40.2']);
    checkSamples(events, readOracle('small_h264_aac.packets.csv'));
  });
});
