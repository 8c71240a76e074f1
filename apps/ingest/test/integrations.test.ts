// In-process: push, pull, webhooks, signed URLs and the control API of startIngest, with @rtmp/client as publishers
// and players (the same features against FFmpeg and nginx-rtmp are in integrations-peers.test.ts).
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishFlv, RtmpClient } from '@rtmp/client';
import { FlvReader, type FlvTag } from '@rtmp/flv-demux';
import { verifyWebhookSignature, type WebhookEvent } from '@rtmp/restream';
import { signUrl } from '@rtmp/server';
import { freePort, readFixture, until, waitFor } from '@rtmp/testing';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { isLoopback } from '../src/control-api.js';
import { createLogger } from '../src/logger.js';
import { type IngestServer, startIngest } from '../src/main.js';
import { OPENAPI } from '../src/openapi.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function start(extra: string[]): Promise<IngestServer & { http: string; rtmp: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-integrations-'));
  const action = loadConfig(
    [
      '--port',
      '0',
      '--http-port',
      String(await freePort()),
      '--host',
      '127.0.0.1',
      '--record-dir',
      dir,
      ...extra,
    ],
    {},
    dir,
  );
  if (action.kind !== 'run') throw new Error('config');
  const server = await startIngest(action.config, createLogger({ level: 'silent', pretty: false }));
  cleanup.push(() => server.close());
  return {
    ...server,
    http: `http://127.0.0.1:${server.httpPort}`,
    rtmp: `rtmp://127.0.0.1:${server.rtmpPort}/live`,
  };
}

function fixtureTags(): FlvTag[] {
  const reader = new FlvReader();
  const tags = reader.push(readFixture('small_h264_aac.flv'));
  reader.end();
  return tags;
}

/** Our client publishing to `url` and staying live until `close()`. */
async function publisher(url: string, tags = fixtureTags().slice(0, 80)) {
  const client = new RtmpClient({ url });
  cleanup.push(() => client.destroy());
  await client.connect();
  const pub = await client.publish();
  await publishFlv(pub, tags, { realtime: false });
  return { client, publisher: pub, close: () => client.close() };
}

/** A player of `url` counting the video messages it receives. */
async function player(url: string) {
  const client = new RtmpClient({ url });
  cleanup.push(() => client.destroy());
  await client.connect();
  const play = await client.play({ demux: false });
  const state = { video: 0, ended: false };
  play.on('message', (m) => {
    if (m.type === 9) state.video++;
  });
  play.on('end', () => {
    state.ended = true;
  });
  return { client, play, state };
}

async function api(base: string, path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token !== undefined) headers.set('authorization', `Bearer ${init.token}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(`${base}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) };
}

describe('control API', () => {
  it('refuses calls without the token or with a wrong one (401), changing nothing; serves the rest with it', async () => {
    const app = await start(['--api-token', 'right', '--no-record']);
    const pub = await publisher(`${app.rtmp}/cam1`);
    const sessions = () => app.integrations.sessions.list();
    await until(() => sessions().length === 1, 5_000, 'one session');
    const id = sessions()[0]!.id;

    for (const token of [undefined, 'wrong', 'righ', 'right2']) {
      const calls = [
        api(app.http, '/api/sessions', { ...(token === undefined ? {} : { token }) }),
        api(app.http, `/api/sessions/${id}`, { method: 'DELETE', ...(token === undefined ? {} : { token }) }),
        api(app.http, '/api/pushes', {
          method: 'POST',
          body: JSON.stringify({ app: 'live', key: 'cam1', url: 'rtmp://127.0.0.1:1/live/x' }),
          ...(token === undefined ? {} : { token }),
        }),
        api(app.http, '/api/streams/live/cam1/recording', {
          method: 'POST',
          ...(token === undefined ? {} : { token }),
        }),
        api(app.http, '/api/pulls', { ...(token === undefined ? {} : { token }) }),
      ];
      for (const res of await Promise.all(calls)) {
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(res.body.error).toMatch(/bearer token/);
      }
    }
    // Nothing changed.
    expect(sessions().map((s) => s.id)).toEqual([id]);
    expect(app.integrations.restreamer.pushes()).toEqual([]);
    expect(app.registry.get('live', 'cam1')?.recorder).toBeNull();
    // The read-only endpoints stay open.
    expect((await api(app.http, '/api/streams')).status).toBe(200);

    const list = await api(app.http, '/api/sessions', { token: 'right' });
    expect(list.status).toBe(200);
    expect(list.body.sessions).toEqual([
      expect.objectContaining({
        id,
        protocol: 'rtmp',
        app: 'live',
        role: 'publisher',
        key: 'cam1',
        streams: [{ streamId: 1, role: 'publisher', key: 'cam1' }],
      }),
    ]);
    expect(list.body.sessions[0].bytesIn).toBeGreaterThan(1000);
    expect(list.body.sessions[0].address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Date.parse(list.body.sessions[0].since)).toBeLessThanOrEqual(Date.now());

    // Recording on request: from the current keyframe, headers first; a second start is a conflict.
    const started = await api(app.http, '/api/streams/live/cam1/recording', {
      method: 'POST',
      token: 'right',
    });
    expect(started.status).toBe(201);
    expect(started.body.path).toMatch(/cam1-\d{8}-\d{6}\.flv$/);
    const listed = await api(app.http, '/api/streams', { token: 'right' });
    expect(listed.body.streams[0].recording).toBe(started.body.path);
    expect(
      (await api(app.http, '/api/streams/live/cam1/recording', { method: 'POST', token: 'right' })).status,
    ).toBe(409);
    expect(
      (await api(app.http, '/api/streams/live/nope/recording', { method: 'POST', token: 'right' })).status,
    ).toBe(404);
    await publishFlv(pub.publisher, fixtureTags().slice(80), { realtime: false });
    const stopped = await api(app.http, '/api/streams/live/cam1/recording', {
      method: 'DELETE',
      token: 'right',
    });
    expect(stopped.status).toBe(200);
    expect(stopped.body.bytes).toBeGreaterThan(10_000);
    expect(statSync(stopped.body.path).size).toBe(stopped.body.bytes);
    expect(
      (await api(app.http, '/api/streams/live/cam1/recording', { method: 'DELETE', token: 'right' })).status,
    ).toBe(404);

    // Pushes: added, listed (target hidden), shown in /api/streams, removed.
    const added = await api(app.http, '/api/pushes', {
      method: 'POST',
      token: 'right',
      body: JSON.stringify({ app: 'live', key: 'cam1', url: 'rtmp://127.0.0.1:1/live/secret-key' }),
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ key: 'live/cam1', target: 'rtmp://127.0.0.1:1/live/***' });
    expect(JSON.stringify((await api(app.http, '/api/streams')).body)).not.toContain('secret-key');
    const streams = (await api(app.http, '/api/streams')).body.streams;
    expect(streams[0].pushes).toEqual([
      expect.objectContaining({ id: added.body.id, target: 'rtmp://127.0.0.1:1/live/***' }),
    ]);
    const bad = await api(app.http, '/api/pushes', {
      method: 'POST',
      token: 'right',
      body: '{"app":"live","key":"cam1","url":"http://x/y"}',
    });
    expect(bad.status).toBe(400);
    expect((await api(app.http, '/api/pushes', { token: 'right' })).body.pushes).toHaveLength(1);
    expect(
      (await api(app.http, `/api/pushes/${added.body.id}`, { method: 'DELETE', token: 'right' })).status,
    ).toBe(204);
    expect(
      (await api(app.http, `/api/pushes/${added.body.id}`, { method: 'DELETE', token: 'right' })).status,
    ).toBe(404);
    expect(app.integrations.restreamer.pushes()).toEqual([]);

    // Kick.
    expect((await api(app.http, '/api/sessions/999999', { method: 'DELETE', token: 'right' })).status).toBe(
      404,
    );
    expect((await api(app.http, `/api/sessions/${id}`, { method: 'DELETE', token: 'right' })).status).toBe(
      204,
    );
    await until(() => sessions().length === 0 && !app.registry.get('live', 'cam1'), 5_000, 'kicked');
    expect((await api(app.http, '/api/sessions', { method: 'PUT', token: 'right' })).status).toBe(405);
    await pub.close().catch(() => undefined);

    // Metrics count the refusals.
    const metrics = await (await fetch(`${app.http}/metrics`)).text();
    expect(metrics).toMatch(/^rtmp_api_refusals_total\{status="401"\} 20$/m);
  });

  it('has its control endpoints off without --api-token; --api-bind loopback keeps others out', async () => {
    const app = await start([]);
    const res = await api(app.http, '/api/sessions', { token: 'anything' });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/--api-token/);
    expect((await api(app.http, '/api/streams')).status).toBe(200);
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.9')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(isLoopback('::ffff:192.0.2.1')).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
    const local = await start(['--api-bind', 'loopback']);
    expect((await api(local.http, '/api/streams')).status).toBe(200);
  });

  it('serves a valid OpenAPI document at /api/openapi.json', async () => {
    const app = await start([]);
    const res = await api(app.http, '/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(OPENAPI)));
    const validator = new Validator();
    const result = await validator.validate(res.body);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.0');
    for (const path of [
      '/api/sessions',
      '/api/sessions/{id}',
      '/api/pushes',
      '/api/pushes/{id}',
      '/api/pulls',
    ]) {
      expect(Object.keys(res.body.paths)).toContain(path);
    }
  });
});

describe('push and pull between two ingest servers', () => {
  it('--push sends every live stream on; /api/streams and /metrics show each target', async () => {
    const target = await start([]);
    const source = await start(['--push', target.rtmp]);
    const far = await player(`${target.rtmp}/cam2`);
    const pub = await publisher(`${source.rtmp}/cam2`);
    const push = await waitFor(() => {
      const p = source.integrations.restreamer.pushes('live/cam2')[0];
      return p?.state === 'live' ? p : undefined;
    }, 5_000);
    await until(() => far.state.video > 0, 5_000, 'video at the target');
    const streams = (await api(source.http, '/api/streams')).body.streams;
    expect(streams[0].pushes[0]).toMatchObject({ id: push.id, state: 'live', connects: 1, failures: 0 });
    const metrics = await (await fetch(`${source.http}/metrics`)).text();
    expect(metrics).toMatch(/^rtmp_push_connects_total 1$/m);
    expect(metrics).toMatch(
      new RegExp(
        `^rtmp_push_up\\{stream="live/cam2",target="rtmp://127.0.0.1:${target.rtmpPort}/live/\\*\\*\\*"\\} 1$`,
        'm',
      ),
    );
    expect(metrics).toMatch(/^rtmp_pushes\{state="live"\} 1$/m);
    await pub.close();
    await until(() => far.state.ended, 5_000, 'the target stream ended with the source');
    await until(() => source.integrations.restreamer.pushes().length === 0, 5_000, 'rule push removed');
  });

  it('--push-map sends a stream to its own URLs', async () => {
    const target = await start([]);
    const dir = await mkdtemp(join(tmpdir(), 'push-map-'));
    const file = join(dir, 'map.json');
    writeFileSync(file, JSON.stringify({ 'live/cam3': [`${target.rtmp}/youtube-key`] }));
    const source = await start(['--push-map', file]);
    expect(source.integrations.restreamer.pushes().map((p) => p.info().state)).toEqual(['idle']);
    const far = await player(`${target.rtmp}/youtube-key`);
    const pub = await publisher(`${source.rtmp}/cam3`);
    await until(() => far.state.video > 0, 5_000, 'video at the mapped target');
    await pub.close();
    await until(() => source.integrations.restreamer.pushes()[0]?.state === 'idle', 5_000, 'idle again');
  });

  it('--pull plays a stream that is not live here from the origin when a player asks', async () => {
    const origin = await start([]);
    const edge = await start(['--pull', origin.rtmp, '--pull-idle', '1']);
    const pub = await publisher(`${origin.rtmp}/cam4`);
    const viewer = await player(`${edge.rtmp}/cam4`);
    await until(() => viewer.state.video > 0, 5_000, 'video pulled');
    const pulls = (await api(edge.http, '/api/pulls', { token: 'x' })).status;
    expect(pulls).toBe(403);
    expect(edge.integrations.puller?.pulls().map((p) => p.info().state)).toEqual(['live']);
    await viewer.client.close();
    await until(() => edge.integrations.puller?.pulls().length === 0, 5_000, 'pull closed after --pull-idle');
    const metrics = await (await fetch(`${edge.http}/metrics`)).text();
    expect(metrics).toMatch(/^rtmp_pulls_total 1$/m);
    await pub.close();
  });
});

describe('webhooks and signed URLs', () => {
  it('delivers every event, signed, in order per stream; push failures and recordings included', async () => {
    const events: { event: WebhookEvent; valid: boolean }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const signature = req.headers['x-rtmp-signature'];
        events.push({
          event: JSON.parse(body),
          valid: verifyWebhookSignature(
            body,
            typeof signature === 'string' ? signature : undefined,
            'hook-secret',
          ),
        });
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => receiver.close(resolve)));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const app = await start([
      '--webhook',
      hook,
      '--webhook-secret',
      'hook-secret',
      '--record',
      '--push',
      'rtmp://127.0.0.1:1/live',
    ]);

    const pub = await publisher(`${app.rtmp}/cam5?token=abc`);
    const viewer = await player(`${app.rtmp}/cam5?view=1`);
    await until(() => viewer.state.video >= 0 && events.some((e) => e.event.event === 'play'), 5_000, 'play');
    await viewer.client.close();
    await pub.close();
    const names = () => events.map((e) => e.event.event);
    await until(
      () =>
        ['record_done', 'publish_done', 'play_done', 'push_failed'].every((n) => names().includes(n)) &&
        names().filter((n) => n === 'disconnect').length === 2,
      10_000,
      'every event',
    );
    expect(events.every((e) => e.valid)).toBe(true);
    const stream = events.filter((e) => e.event.key === 'cam5').map((e) => e.event.event);
    const order = stream.filter((n) => n !== 'push_failed');
    expect(order).toEqual(['publish', 'play', 'play_done', 'publish_done', 'record_done']);
    const publish = events.find((e) => e.event.event === 'publish')!.event;
    expect(publish).toMatchObject({
      app: 'live',
      key: 'cam5',
      query: 'token=abc',
      clientAddress: '127.0.0.1',
      protocol: 'rtmp',
    });
    expect(events.find((e) => e.event.event === 'play')!.event.query).toBe('view=1');
    expect(events.find((e) => e.event.event === 'connect')!.event).toMatchObject({
      app: 'live',
      key: null,
      protocol: 'rtmp',
    });
    const record = events.find((e) => e.event.event === 'record_done')!.event;
    expect(existsSync(String(record.path))).toBe(true);
    expect(record).toMatchObject({ startedBy: 'publish', error: null });
    const failed = events.find((e) => e.event.event === 'push_failed')!.event;
    expect(failed).toMatchObject({
      app: 'live',
      key: 'cam5',
      code: 'ERR_RTMP_SOCKET',
      target: 'rtmp://127.0.0.1:1/live/***',
    });
    expect(new Set(events.map((e) => e.event.id)).size).toBe(events.length);
    const metrics = await (await fetch(`${app.http}/metrics`)).text();
    expect(
      Number(/^rtmp_webhook_deliveries_total\{result="delivered"\} (\d+)$/m.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(8);
    expect(
      Number(/^rtmp_push_failures_total\{code="ERR_RTMP_SOCKET"\} (\d+)$/m.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(1);
  });

  it('accepts signed publish and play URLs, refuses missing, expired and forged ones', async () => {
    const app = await start(['--sign-publish-secret', 'pub', '--sign-play-secret', 'play', '--sign-nms']);
    const refused = async (url: string, action: 'publish' | 'play') => {
      const client = new RtmpClient({ url });
      cleanup.push(() => client.destroy());
      await client.connect();
      const error = await (action === 'publish' ? client.publish() : client.play()).then(
        () => undefined,
        (e: unknown) => e,
      );
      return Reflect.get(Object(error), 'status')?.code as string | undefined;
    };
    const url = `${app.rtmp}/cam6`;
    const now = Date.now();
    expect(await refused(url, 'publish')).toBe('NetStream.Publish.Unauthorized');
    expect(await refused(signUrl(url, { secret: 'pub', action: 'publish', expiresIn: -10 }), 'publish')).toBe(
      'NetStream.Publish.Unauthorized',
    );
    expect(await refused(signUrl(url, { secret: 'wrong', action: 'publish' }), 'publish')).toBe(
      'NetStream.Publish.Unauthorized',
    );
    // A play link does not publish, even one made with the publish secret.
    expect(await refused(signUrl(url, { secret: 'pub', action: 'play' }), 'publish')).toBe(
      'NetStream.Publish.Unauthorized',
    );
    const forged = signUrl(url, { secret: 'pub', action: 'publish', now: () => now }).replace(
      /expires=(\d+)/,
      (_m, e) => `expires=${Number(e) + 3600}`,
    );
    expect(await refused(forged, 'publish')).toBe('NetStream.Publish.Unauthorized');
    const pub = await publisher(signUrl(url, { secret: 'pub', action: 'publish' }));
    expect(await refused(url, 'play')).toBe('NetStream.Play.Failed');
    expect(await refused(signUrl(url, { secret: 'pub', action: 'play' }), 'play')).toBe(
      'NetStream.Play.Failed',
    );
    const viewer = await player(signUrl(url, { secret: 'play', action: 'play' }));
    // node-media-server's format (with --sign-nms), with the action's secret.
    const nms = await player(signUrl(url, { secret: 'play', action: 'play', format: 'node-media-server' }));
    await publishFlv(pub.publisher, fixtureTags().slice(80, 120), { realtime: false });
    await until(() => viewer.state.video > 0 && nms.state.video > 0, 5_000, 'both players get video');
    const metrics = await (await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^rtmp_signed_url_refusals_total\{action="publish",reason="invalid"\} 3$/m);
    expect(metrics).toMatch(/^rtmp_signed_url_refusals_total\{action="publish",reason="expired"\} 1$/m);
    expect(metrics).toMatch(/^rtmp_signed_url_refusals_total\{action="publish",reason="missing"\} 1$/m);
  });
});
