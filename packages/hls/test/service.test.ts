import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LiveRelay, type RelayPublisher } from '@rtmp/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HlsService } from '../src/index.js';
import { loopedTags, parseMediaPlaylist } from './helpers.js';

function publishing(relay: LiveRelay, key: string) {
  const publisher: RelayPublisher = { closed: false, close: () => undefined };
  relay.publish(key, publisher);
  const tags = loopedTags(3);
  let next = 0;
  const feed = (count: number) => {
    for (const end = Math.min(tags.length, next + count); next < end; next++) {
      const tag = tags[next]!;
      relay.push(key, publisher, {
        type: tag.type,
        streamId: 1,
        timestamp: tag.timestamp,
        payload: tag.body,
      });
    }
  };
  return { publisher, feed, unpublish: () => relay.unpublish(key, publisher) };
}

/** Lets the request's first awaits run (authorization), until it subscribed to the relay. */
async function subscribed(relay: LiveRelay, key: string): Promise<void> {
  for (let i = 0; i < 20 && relay.stats(key)?.playersByProtocol.hls === undefined; i++)
    await Promise.resolve();
}

const services: HlsService[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(services.splice(0).map((s) => s.close()));
});

function service(options: Omit<ConstructorParameters<typeof HlsService>[0], 'relay'> = {}) {
  const relay = new LiveRelay();
  const hls = new HlsService({ relay, ...options });
  services.push(hls);
  return { relay, hls };
}

describe('HlsService (no socket)', () => {
  it('on demand: 404 for a key that is not live; the first request starts the muxer and waits for a segment', async () => {
    const { relay, hls } = service();
    expect((await hls.respond('/live/a/index.m3u8', '')).status).toBe(404);
    const { feed } = publishing(relay, 'live/a');
    feed(30);
    // Nobody asked: nothing is muxed.
    expect(relay.stats('live/a')?.playersByProtocol).toEqual({});
    const first = hls.respond('/live/a/index.m3u8', '');
    await subscribed(relay, 'live/a');
    expect(relay.stats('live/a')?.playersByProtocol).toEqual({ hls: 1 });
    feed(200);
    const response = await first;
    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    const playlist = parseMediaPlaylist(String(response.body));
    expect(playlist.segments.filter((s) => s.uri).length).toBeGreaterThan(0);
    const init = playlist.segments[0]!.map.uri;
    expect((await hls.respond(`/live/a/${init}`, '')).status).toBe(200);
    expect(hls.stats()).toMatchObject({ streams: 1, requests: { playlist: 2, init: 1, error: 1 } });
  });

  it('on demand: the muxer stops --hls-idle after the last request; the relay loses its subscriber', async () => {
    vi.useFakeTimers();
    const { relay, hls } = service({ idleTimeout: 5 });
    const { feed } = publishing(relay, 'live/a');
    const first = hls.respond('/live/a/index.m3u8', '');
    await subscribed(relay, 'live/a');
    feed(300);
    expect((await first).status).toBe(200);
    await vi.advanceTimersByTimeAsync(4000);
    expect((await hls.respond('/live/a/index.m3u8', '')).status).toBe(200);
    await vi.advanceTimersByTimeAsync(4000);
    expect(hls.stats().streams).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(hls.stats().streams).toBe(0);
    expect(relay.stats('live/a')?.playersByProtocol).toEqual({});
  });

  it('on demand: a request that waits longer than --hls-idle keeps its muxer; idle counts from its answer', async () => {
    vi.useFakeTimers();
    const { relay, hls } = service({ idleTimeout: 1 });
    const { feed } = publishing(relay, 'live/a');
    // The first request waits for a first segment that takes 3 s to come (a slow keyframe, a long blocking reload).
    const first = hls.respond('/live/a/index.m3u8', '');
    await subscribed(relay, 'live/a');
    await vi.advanceTimersByTimeAsync(3000);
    expect(hls.stats().streams).toBe(1);
    feed(300);
    expect((await first).status).toBe(200);
    await vi.advanceTimersByTimeAsync(500);
    expect(hls.stats().streams).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(hls.stats().streams).toBe(0);
    expect(relay.stats('live/a')?.playersByProtocol).toEqual({});
  });

  it('always: every publish is muxed from its start; its end ends the playlist; a new publish gets new names', async () => {
    const { relay, hls } = service({ mode: 'always' });
    const first = publishing(relay, 'live/a');
    expect(relay.stats('live/a')?.playersByProtocol).toEqual({ hls: 1 });
    first.feed(10_000);
    first.unpublish();
    const ended = parseMediaPlaylist(String((await hls.respond('/live/a/index.m3u8', '')).body));
    expect(ended.endlist).toBe(true);
    // Every sample from the start: the first segment starts at 0.
    expect(hls.stream('live/a')?.segmenter.segments[0]?.startTime).toBe(0);
    const oldId = hls.stream('live/a')?.id;
    const second = publishing(relay, 'live/a');
    second.feed(300);
    expect(hls.stream('live/a')?.id).not.toBe(oldId);
    const live = parseMediaPlaylist(String((await hls.respond('/live/a/index.m3u8', '')).body));
    expect(live.endlist).toBe(false);
  });

  it('answers 415 for a stream with no codec HLS can carry, 403 when not allowed, 404 for odd paths', async () => {
    const { relay, hls } = service({
      acceptCodec: () => false,
      firstSegmentTimeout: 0.2,
      allow: (app) => app !== 'private',
    });
    publishing(relay, 'live/a').feed(100);
    const refused = await hls.respond('/live/a/index.m3u8', '');
    expect(refused.status).toBe(415);
    expect(String(refused.body)).toContain('ERR_HLS_UNSUPPORTED_CODEC');
    expect(String(refused.body)).toContain('avc video (track 0)');
    expect((await hls.respond('/private/a/index.m3u8', '')).status).toBe(403);
    for (const path of [
      '/live/%2e%2e/index.m3u8',
      '/live/a%00/index.m3u8',
      '/live/../index.m3u8',
      '/live/a/x-s1.m4s',
    ]) {
      expect((await hls.respond(path, '')).status, path).toBe(404);
    }
  });

  it('off: nothing is served', async () => {
    const { relay, hls } = service({ mode: 'off' });
    publishing(relay, 'live/a').feed(300);
    expect((await hls.respond('/live/a/index.m3u8', '')).status).toBe(404);
    expect(relay.stats('live/a')?.playersByProtocol).toEqual({});
  });

  it('rejects bad options with ERR_HLS_INVALID_OPTION', () => {
    const relay = new LiveRelay();
    for (const options of [{ idleTimeout: 0 }, { firstSegmentTimeout: -1 }, { window: 0 }]) {
      expect(() => new HlsService({ relay, ...options })).toThrow(
        expect.objectContaining({ code: 'ERR_HLS_INVALID_OPTION' }),
      );
    }
  });
});

describe('HlsService.handle in a node:http server', () => {
  it('mounts beside other routes: CORS, cache headers, HEAD, OPTIONS, 405; other paths left alone', async () => {
    const { relay, hls } = service({ corsOrigin: 'https://example.test' });
    const { feed } = publishing(relay, 'live/a');
    const server = createServer((req, res) => {
      if (hls.handle(req, res)) return;
      res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const pending = fetch(`${base}/live/a/index.m3u8`);
      for (let i = 0; i < 100 && relay.stats('live/a')?.playersByProtocol.hls === undefined; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      feed(300);
      const playlist = await pending;
      expect(playlist.status).toBe(200);
      expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
      expect(playlist.headers.get('cache-control')).toBe('no-cache');
      expect(playlist.headers.get('access-control-allow-origin')).toBe('https://example.test');
      const text = await playlist.text();
      const segment = /^[a-z0-9]+-s\d+\.m4s$/m.exec(text)?.[0];
      const part = /URI="([a-z0-9]+-p\d+\.m4s)"/.exec(text)?.[1];
      for (const name of [segment, part]) {
        const response = await fetch(`${base}/live/a/${name}`);
        expect(response.status).toBe(200);
        expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
        expect(response.headers.get('content-type')).toBe('video/mp4');
        expect(Number(response.headers.get('content-length'))).toBe(
          (await response.arrayBuffer()).byteLength,
        );
      }
      const head = await fetch(`${base}/live/a/${segment}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
      const options = await fetch(`${base}/live/a/index.m3u8`, { method: 'OPTIONS' });
      expect(options.status).toBe(204);
      expect(options.headers.get('access-control-allow-methods')).toContain('GET');
      expect((await fetch(`${base}/live/a/index.m3u8`, { method: 'POST' })).status).toBe(405);
      expect((await fetch(`${base}/api/streams`)).status).toBe(418);
      expect((await fetch(`${base}/live/a.flv`)).status).toBe(418);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
