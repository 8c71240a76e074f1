import { connect, type Socket } from 'node:net';
import { sleep, until } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { IngestHttpServer, parseRequestPath, type StreamApiEntry } from '../src/http.js';
import { createLogger } from '../src/logger.js';
import { IngestMetrics } from '../src/metrics.js';

const entry: StreamApiEntry = {
  app: 'live',
  key: 'k',
  codecs: ['avc1.64001f'],
  video: { codec: 'avc1.64001f', width: 320, height: 240, fps: 25, keyframeIntervalMs: 1000, frames: 1 },
  audio: { codec: null, sampleRate: null, channels: null, frames: 0 },
  tracks: [{ type: 'video', track: 0, codec: 'avc1.64001f', width: 320, height: 240, frames: 1 }],
  resolution: '320x240',
  fps: 25,
  bitrate: 1,
  uptimeSec: 1,
  players: 0,
  bytesIn: 1,
  bytesOut: 0,
  droppedFrames: 0,
  recording: null,
};

describe('IngestHttpServer', () => {
  it('serves /api/streams, /healthz, /metrics and 404/405', async () => {
    let healthy = true;
    const metrics = new IngestMetrics();
    metrics.error('ERR_TEST');
    metrics.bytesIn.inc(42);
    const http = new IngestHttpServer(
      { streams: () => [entry], healthy: () => healthy },
      metrics,
      createLogger({ level: 'silent', pretty: false }),
    );
    const port = await http.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    try {
      const s = await fetch(`${base}/api/streams`);
      expect(s.status).toBe(200);
      expect(s.headers.get('content-type')).toBe('application/json');
      expect(await s.json()).toEqual({ streams: [entry] });

      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      healthy = false;
      expect((await fetch(`${base}/healthz`)).status).toBe(503);

      const m = await fetch(`${base}/metrics`);
      const text = await m.text();
      expect(text).toContain('rtmp_errors_total{code="ERR_TEST"} 1');
      expect(text).toContain('rtmp_bytes_in_total 42');
      for (const name of ['rtmp_connections', 'rtmp_publishers', 'rtmp_players', 'rtmp_bytes_out_total']) {
        expect(text).toContain(`# TYPE ${name}`);
      }
      expect(text).toContain('rtmp_dropped_frames_total');

      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/api/streams`, { method: 'POST' })).status).toBe(405);
    } finally {
      await http.close();
    }
  });
});

describe('parseRequestPath', () => {
  it('splits a path and refuses dot segments, NUL, backslashes and bad escapes, encoded or not', () => {
    expect(parseRequestPath('/live/cam%201.flv?token=a%20b')).toEqual({
      path: '/live/cam 1.flv',
      segments: ['live', 'cam 1.flv'],
      query: 'token=a%20b',
    });
    for (const bad of [
      '/live/../x.flv',
      '/live/%2e%2e/x.flv',
      '/%2E%2e/x',
      '/./x',
      '/live/x%00.flv',
      '/a\\b',
      '/%zz',
      'live/x.flv',
      '*',
    ]) {
      expect(parseRequestPath(bad), bad).toBeNull();
    }
  });
});

describe('IngestHttpServer limits', () => {
  it('closes connections past maxConnections at accept', async () => {
    const metrics = new IngestMetrics({ defaultMetrics: false });
    const http = new IngestHttpServer(
      { streams: () => [], healthy: () => true },
      metrics,
      createLogger({ level: 'silent', pretty: false }),
      { limits: { maxConnections: 3 } },
    );
    const port = await http.listen(0, '127.0.0.1');
    const sockets = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Promise<Socket>((resolve) => {
            const socket = connect(port, '127.0.0.1', () => resolve(socket));
            socket.on('error', () => undefined);
          }),
      ),
    );
    try {
      await until(
        () => sockets.filter((s) => s.destroyed || s.readableEnded).length >= 2,
        5_000,
        'two refused',
      );
      await sleep(100);
      expect(sockets.filter((s) => !s.destroyed && !s.readableEnded).length).toBe(3);
      expect(await metrics.scrape()).toContain('rtmp_errors_total{code="ERR_INGEST_HTTP_MAX_CONNECTIONS"} 2');
    } finally {
      for (const socket of sockets) socket.destroy();
      await http.close();
    }
  });
});
