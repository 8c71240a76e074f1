import { readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ffmpegTestPatternArgs,
  freePort,
  hasTool,
  probeFrames,
  run,
  selfSignedCert,
  waitFor,
} from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { startApp } from './helpers.js';

const tools = hasTool('ffmpeg') && hasTool('ffprobe');

describe.skipIf(!tools)('more real-peer cases', () => {
  it('a publisher killed mid-stream leaves a finalized, valid recording', async () => {
    const recordDir = await mkdtemp(join(tmpdir(), 'ingest-crash-'));
    const app = await startApp(['--record-dir', recordDir]);
    const pub = run('ffmpeg', ffmpegTestPatternArgs(`${app.url}/crash`, 30), 40_000);
    try {
      await waitFor(async () => {
        const s = (await app.api()).streams.find((x) => x.key === 'crash');
        return s !== undefined && (s.video as { frames: number }).frames > 30 ? true : undefined;
      }, 15_000);
      pub.child.kill('SIGKILL');
      await waitFor(() => (app.logs.some((l) => l.msg === 'recording finalized') ? true : undefined), 10_000);
      expect((await app.api()).streams).toEqual([]);
      const files = readdirSync(recordDir);
      expect(files).toHaveLength(1);
      const p = probeFrames(join(recordDir, files[0]!));
      expect(p.stderr).toBe('');
      expect(p.video).toBeGreaterThan(30);
      // The key is free again at once.
      const again = await run('ffmpeg', ffmpegTestPatternArgs(`${app.url}/crash`, 1), 20_000).done;
      expect(again.code, again.stderr).toBe(0);
    } finally {
      pub.child.kill('SIGKILL');
      await app.stop();
    }
  });

  it('refuses an app that is not configured', async () => {
    const app = await startApp(['--apps', 'show']);
    try {
      const r = await run(
        'ffmpeg',
        ffmpegTestPatternArgs(`rtmp://127.0.0.1:${app.rtmpPort}/live/x`, 1),
        20_000,
      ).done;
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('unknown app "live"');
      const ok = await run(
        'ffmpeg',
        ffmpegTestPatternArgs(`rtmp://127.0.0.1:${app.rtmpPort}/show/x`, 1),
        20_000,
      ).done;
      expect(ok.code, ok.stderr).toBe(0);
    } finally {
      await app.stop();
    }
  });

  it('asks --keys-url for publish and play', async () => {
    const asked: { action: string; key: string; query: string }[] = [];
    const auth = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const r = JSON.parse(body) as { action: string; key: string; query: string };
        asked.push(r);
        res.writeHead(r.query === 'token=yes' ? 200 : 403).end();
      });
    });
    await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(auth.address() as AddressInfo).port}/`;
    const app = await startApp(['--keys-url', url]);
    try {
      const denied = await run('ffmpeg', ffmpegTestPatternArgs(`${app.url}/cb?token=no`, 1), 20_000).done;
      expect(denied.code).not.toBe(0);
      expect(denied.stderr, denied.stderr).toContain('keys-url answered 403');
      const allowed = await run('ffmpeg', ffmpegTestPatternArgs(`${app.url}/cb?token=yes`, 1), 20_000).done;
      expect(allowed.code, allowed.stderr).toBe(0);
      const play = await run(
        'ffmpeg',
        ['-hide_banner', '-i', `${app.url}/cb?token=no`, '-f', 'null', '-'],
        20_000,
      ).done;
      expect(play.code).not.toBe(0);
      for (const e of [
        { action: 'publish', app: 'live', key: 'cb', query: 'token=no', ip: '127.0.0.1' },
        { action: 'publish', app: 'live', key: 'cb', query: 'token=yes', ip: '127.0.0.1' },
        { action: 'play', app: 'live', key: 'cb', query: 'token=no', ip: '127.0.0.1' },
      ]) {
        expect(asked, JSON.stringify(asked)).toContainEqual(e);
      }
    } finally {
      await app.stop();
      auth.closeAllConnections();
      await new Promise((r) => auth.close(r));
    }
  });

  it.skipIf(!hasTool('openssl'))('serves RTMPS with --tls-cert/--tls-key', async () => {
    const { certPath, keyPath } = selfSignedCert();
    const rtmpsPort = await freePort();
    const app = await startApp([
      '--tls-cert',
      certPath,
      '--tls-key',
      keyPath,
      '--rtmps-port',
      String(rtmpsPort),
    ]);
    try {
      const pub = run(
        'ffmpeg',
        ffmpegTestPatternArgs(`rtmps://127.0.0.1:${rtmpsPort}/live/secure`, 3),
        20_000,
      );
      const entry = await waitFor(async () => {
        const s = (await app.api()).streams.find((x) => x.key === 'secure');
        return s?.resolution !== null && s !== undefined ? s : undefined;
      }, 10_000);
      expect(entry.resolution).toBe('320x240');
      const r = await pub.done;
      expect(r.code, r.stderr).toBe(0);
    } finally {
      await app.stop();
    }
  });
});
