import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixture, hasTool, run, until } from '@rtmp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, headerOf, metric, RawFlvViewer } from './flv-clients.js';
import { type RunningApp, startApp } from './helpers.js';

// HTTP-FLV and WS-FLV from the built app, against real readers (ffprobe, FFmpeg) and raw clients: every packet of
// the publish, node-media-server's URL layout, CORS, --play-wait, the --keys-url play check, bad paths.

const tools = hasTool('ffmpeg') && hasTool('ffprobe');

/** ffprobe's packets as the `.packets.csv` oracles list them. */
function packetsCsv(stdout: string): string[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => l.replace(/,+$/, ''));
}

const oracle = () => packetsCsv(readFileSync(fixture('small_h264_aac.packets.csv'), 'utf8'));

/** A `--keys-url` endpoint: plays need `?token=yes`, publishing is free. */
async function keysServer(): Promise<{ url: string; server: Server; requests: Record<string, string>[] }> {
  const requests: Record<string, string>[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      const request = JSON.parse(body) as Record<string, string>;
      requests.push(request);
      const allowed = request.action === 'publish' || request.query === 'token=yes';
      res.writeHead(allowed ? 200 : 403).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/auth`, server, requests };
}

describe.skipIf(!tools)('HTTP-FLV and WS-FLV viewers', () => {
  let app: RunningApp;
  let keys: Awaited<ReturnType<typeof keysServer>>;
  let base: string;

  beforeAll(async () => {
    keys = await keysServer();
    app = await startApp([
      ...['--play-wait', '8000', '--cors-origin', 'https://viewer.example'],
      ...['--keys-url', keys.url, '--log-level', 'warn'],
    ]);
    base = `http://127.0.0.1:${app.httpPort}`;
  });

  afterAll(async () => {
    await app?.stop();
    keys?.server.close();
  });

  it('ffprobe reads http://.../live/<key>.flv with every packet of the publish; WS-FLV gets the same bytes', async () => {
    const url = `${base}/live/probe.flv?token=yes`;
    // Both viewers wait for the publisher (--play-wait), so they get the stream from its first tag.
    const probe = run(
      'ffprobe',
      [
        ...['-v', 'error', '-show_entries', 'packet=codec_type,stream_index,pts,dts,size,flags'],
        '-of',
        'csv=p=0',
        url,
      ],
      60_000,
    );
    const ws = new WebSocket(`ws://127.0.0.1:${app.httpPort}/live/probe.flv?token=yes`);
    const messages: Buffer[] = [];
    ws.on('message', (data: Buffer) => messages.push(data));
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const raw = new RawFlvViewer(app.httpPort, '/live/probe.flv?token=yes');
    await eventually(
      async () => (await metric(base, 'rtmp_viewers{protocol="http-flv"}')) === 2,
      10_000,
      'viewers',
    );
    const published = await run(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-i',
        fixture('small_h264_aac.flv'),
        '-c',
        'copy',
        '-f',
        'flv',
        `${app.url}/probe`,
      ],
      30_000,
    ).done;
    expect(published.code, published.stderr).toBe(0);
    const probed = await probe.done;
    expect(probed.code, probed.stderr).toBe(0);
    expect(packetsCsv(probed.stdout)).toEqual(oracle());
    await raw.closed;
    expect(raw.complete).toBe(true);
    expect(await wsClosed).toBe(1000);
    // One FLV tag per WebSocket message, after the 13-byte file header: the same bytes as HTTP-FLV.
    expect(messages[0]!.byteLength).toBe(13);
    expect(Buffer.concat(messages).equals(raw.bytes())).toBe(true);
    expect(raw.bytes()[4]).toBe(5);
  });

  it('answers with node-media-server URLs: CORS, 404 after --play-wait, 403 from --keys-url, 400 for bad paths', async () => {
    // CORS preflight and the origin of --cors-origin on every answer.
    const preflight = await fetch(`${base}/live/x.flv`, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://viewer.example');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');

    // Refused by the keys callback, which got the play request as RTMP players send it.
    const refused = await fetch(`${base}/live/secret.flv?token=no`);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://viewer.example');
    expect(keys.requests.at(-1)).toEqual({
      action: 'play',
      app: 'live',
      key: 'secret',
      query: 'token=no',
      ip: '127.0.0.1',
    });

    // An app that is not served; a key that never goes live (after --play-wait, 8 s).
    expect((await fetch(`${base}/other/x.flv?token=yes`)).status).toBe(404);
    const started = Date.now();
    const late = await fetch(`${base}/live/never.flv?token=yes`);
    expect(late.status).toBe(404);
    expect(Date.now() - started).toBeGreaterThanOrEqual(7_900);
    expect(await metric(base, 'rtmp_viewers{protocol="http-flv"}')).toBe(0);

    // Paths that leave the layout: encoded dots, NUL, backslashes, bad escapes.
    for (const path of [
      '/live/%2e%2e/x.flv',
      '/live/..%2fx.flv',
      '/%2E%2E/%2e%2e/etc/passwd',
      '/live/x%00.flv',
      '/live/%zz.flv',
      '/live\\x.flv',
    ]) {
      const viewer = new RawFlvViewer(app.httpPort, path);
      await until(() => viewer.status !== 0, 5_000, `an answer to ${path}`);
      expect(viewer.status, path).toBe(400);
      viewer.socket.destroy();
    }
    const dots = new RawFlvViewer(app.httpPort, '/live/../live/x.flv');
    await until(() => dots.status !== 0, 5_000, 'an answer');
    expect(dots.status).toBe(400);
    expect(headerOf(dots.head, 'access-control-allow-origin')).toBe('https://viewer.example');
    dots.socket.destroy();

    // A WebSocket to a key that does not exist is refused in the handshake.
    const ws = new WebSocket(`ws://127.0.0.1:${app.httpPort}/nope/x.flv`);
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(404);
  });
});
