import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtmpConnection, type RtmpStatus } from '@rtmp/connection';
import { RtmpServer } from '@rtmp/server';
import { hasFfmpegEncoder, MEDIA_FILES, makeMediaFile, next, sleep, until } from '@rtmp/testing';
import { afterEach, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { realRoot } from '../src/vod/paths.js';
import { VodService } from '../src/vod/service.js';

const usable = MEDIA_FILES['big-h264-aac.mp4'].encoders.every(hasFfmpegEncoder);
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

it.skipIf(!usable)(
  'a player that stops reading holds the file back: the server queues one tag, not the file',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vod-bp-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    // 100 MB over 10 s: 10 MB per second of media, 10 MB within the 1 s lead alone.
    copyFileSync(await makeMediaFile('big-h264-aac.mp4'), join(dir, 'big.mp4'));
    const vod = new VodService({
      root: await realRoot(dir),
      log: createLogger({ level: 'silent' }),
      authorize: async () => ({ allowed: true }),
      maxPlayersPerFile: 10,
    });
    const server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: vod.handler(() => ({})) });
    const port = await server.start();
    cleanup.push(async () => {
      await server.stop();
      vod.close();
    });
    const client = new RtmpConnection(net.connect(port, '127.0.0.1'), { role: 'client' });
    cleanup.push(() => client.destroy());
    await next(client, 'ready');
    await client.call('connect', [{ app: 'vod', tcUrl: `rtmp://127.0.0.1:${port}/vod` }]);
    const id = (await client.call('createStream', [null])).args[0] as number;
    const statuses: RtmpStatus[] = [];
    client.on('status', (s) => statuses.push(s));
    let received = 0;
    client.on('message', (m) => {
      received += m.payload.byteLength;
      // Stop reading once media flows: the TCP window closes, the server's socket fills.
      if (received > 1 << 20) client.socket.pause();
    });
    client.sendCommand('play', 0, [null, 'big.mp4', 0], id);
    await until(() => statuses.some((s) => s.code === 'NetStream.Play.Start'));
    await sleep(3000);
    const [session] = [...server.sessions];
    expect(session).toBeDefined();
    expect(vod.players).toBe(1);
    // Three seconds of media would be 30 MB; the server holds the socket's high-water mark plus at most one tag
    // (350 KB frames), the rest waits in the file.
    expect(session!.connection.writableLength).toBeLessThan(1 << 20);
    expect(received).toBeLessThan(20 << 20);
  },
);
