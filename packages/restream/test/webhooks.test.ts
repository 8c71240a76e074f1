import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Backoff,
  RestreamError,
  signWebhookBody,
  verifyWebhookSignature,
  WEBHOOK_SIGNATURE_HEADER,
  type WebhookEvent,
  Webhooks,
} from '../src/index.js';

interface Received {
  body: string;
  event: WebhookEvent;
  headers: IncomingHttpHeaders;
}

/** An HTTP receiver on 127.0.0.1 that answers each POST with what `answer` says (status, after a delay). */
async function receiver(answer: (event: WebhookEvent, n: number) => number | Promise<number> = () => 204) {
  const received: Received[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const event = JSON.parse(body) as WebhookEvent;
      received.push({ body, event, headers: req.headers });
      res.statusCode = await answer(event, n++);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return { url, received };
}

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const FAST = { initialDelay: 20, maxDelay: 100 };

function hooks(options: ConstructorParameters<typeof Webhooks>[0]): Webhooks {
  const h = new Webhooks({ retry: FAST, ...options });
  cleanup.push(() => h.close({ timeout: 100 }));
  return h;
}

describe('Webhooks', () => {
  it('POSTs each event as JSON with a unique id, a timestamp and an HMAC-SHA256 signature of the body', async () => {
    const r = await receiver();
    const h = hooks({ urls: [r.url], secret: 's3cret' });
    const sent = h.send({
      event: 'publish',
      app: 'live',
      key: 'cam1',
      query: 'token=x',
      clientAddress: '127.0.0.1',
      protocol: 'rtmp',
      data: { sessionId: 7, id: 'not-this' },
    });
    h.send({ event: 'connect', app: 'live', clientAddress: '127.0.0.1', protocol: 'rtmps' });
    await until(() => h.stats().delivered === 2, 5_000, 'two deliveries');
    const publish = r.received.find((x) => x.event.event === 'publish')!;
    expect(publish.event).toEqual({
      id: sent?.id,
      event: 'publish',
      timestamp: sent?.timestamp,
      app: 'live',
      key: 'cam1',
      query: 'token=x',
      clientAddress: '127.0.0.1',
      protocol: 'rtmp',
      sessionId: 7,
    });
    expect(publish.event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(publish.event.timestamp)).toBeGreaterThan(Date.now() - 10_000);
    expect(publish.headers['content-type']).toBe('application/json');
    expect(publish.headers['x-rtmp-event']).toBe('publish');
    expect(publish.headers['x-rtmp-delivery']).toBe(sent?.id);
    const signature = publish.headers[WEBHOOK_SIGNATURE_HEADER];
    expect(signature).toBe(signWebhookBody(publish.body, 's3cret'));
    expect(verifyWebhookSignature(publish.body, String(signature), 's3cret')).toBe(true);
    expect(verifyWebhookSignature(`${publish.body} `, String(signature), 's3cret')).toBe(false);
    expect(verifyWebhookSignature(publish.body, String(signature), 'other')).toBe(false);
    expect(verifyWebhookSignature(publish.body, undefined, 's3cret')).toBe(false);
    const connect = r.received.find((x) => x.event.event === 'connect')!;
    expect(connect.event).toMatchObject({ key: null, query: null, protocol: 'rtmps' });
    expect(h.stats()).toEqual({ queued: 0, delivered: 2, failed: 0, dropped: 0, retries: 0 });
  });

  it('retries a failing delivery with backoff and keeps each stream in order; other streams are not held up', async () => {
    // The first two attempts of cam1's first event fail (503, then a reset connection would be the same).
    const r = await receiver((event, n) =>
      event.key === 'cam1' && event.event === 'publish' && n < 3 ? 503 : 200,
    );
    const h = hooks({ urls: [r.url] });
    const retries: number[] = [];
    h.on('retry', (_event, _url, error, delay) => {
      expect(error.code).toBe('ERR_RESTREAM_WEBHOOK_REJECTED');
      expect(error.status).toBe(503);
      retries.push(delay);
    });
    for (const event of ['publish', 'play', 'play_done', 'publish_done']) {
      h.send({ event, app: 'live', key: 'cam1' });
    }
    h.send({ event: 'publish', app: 'live', key: 'cam2' });
    await until(() => h.stats().delivered === 5, 10_000, 'every event delivered');
    const cam1 = r.received.filter((x) => x.event.key === 'cam1' && r.received.indexOf(x) >= 0);
    // Every attempt of cam1's publish came before any later cam1 event, and those came in order once.
    const delivered = cam1.map((x) => x.event.event);
    expect(delivered.filter((e) => e === 'publish').length).toBeGreaterThanOrEqual(2);
    expect(delivered.slice(delivered.lastIndexOf('publish'))).toEqual([
      'publish',
      'play',
      'play_done',
      'publish_done',
    ]);
    expect(new Set(cam1.filter((x) => x.event.event === 'publish').map((x) => x.event.id)).size).toBe(1);
    // cam2 went through while cam1 waited.
    const cam2At = r.received.findIndex((x) => x.event.key === 'cam2');
    expect(cam2At).toBeLessThan(r.received.findIndex((x) => x.event.event === 'play'));
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(h.stats().retries).toBe(retries.length);
    expect(r.received.at(-1)?.headers['x-rtmp-attempt']).toBe('1');
  });

  it('gives an event up after maxAttempts (unreachable URL) and goes on with the next', async () => {
    const h = hooks({ urls: ['http://127.0.0.1:1/hook'], maxAttempts: 2, timeout: 1_000 });
    const failed: string[] = [];
    h.on('failed', (event, _url, error) => failed.push(`${event.event} ${error.code}`));
    h.send({ event: 'publish', app: 'live', key: 'k' });
    h.send({ event: 'publish_done', app: 'live', key: 'k' });
    await until(() => failed.length === 2, 10_000, 'both given up');
    expect(failed).toEqual([
      'publish ERR_RESTREAM_WEBHOOK_UNREACHABLE',
      'publish_done ERR_RESTREAM_WEBHOOK_UNREACHABLE',
    ]);
    expect(h.stats()).toMatchObject({ queued: 0, failed: 2, retries: 2, delivered: 0 });
  });

  it('bounds its queue: events past maxQueued are dropped and counted, never blocking the caller', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const r = await receiver(async () => {
      await gate;
      return 200;
    });
    const h = hooks({ urls: [r.url], maxQueued: 3, concurrency: 1 });
    const dropped: string[] = [];
    h.on('dropped', (event) => dropped.push(event.key ?? ''));
    for (let i = 0; i < 5; i++) h.send({ event: 'play', app: 'live', key: `k${i}` });
    expect(dropped).toEqual(['k3', 'k4']);
    expect(h.stats()).toMatchObject({ queued: 3, dropped: 2 });
    release();
    await until(() => h.stats().delivered === 3, 5_000, 'the queued three delivered');
    expect(r.received.map((x) => x.event.key)).toEqual(['k0', 'k1', 'k2']);
  });

  it('close waits for what is queued, then abandons the rest', async () => {
    const r = await receiver();
    const h = new Webhooks({ urls: [r.url], retry: FAST });
    h.send({ event: 'record_done', app: 'live', key: 'k', data: { path: '/tmp/x.flv' } });
    await h.close();
    expect(r.received.map((x) => x.event.event)).toEqual(['record_done']);
    expect(r.received[0]?.event.path).toBe('/tmp/x.flv');
    expect(h.send({ event: 'play' })).toBeUndefined();
    const stuck = new Webhooks({ urls: ['http://127.0.0.1:1/x'], retry: { initialDelay: 10_000 } });
    stuck.send({ event: 'play' });
    await stuck.close({ timeout: 300 });
    expect(stuck.stats()).toMatchObject({ queued: 0, failed: 1 });
  });

  it('checks its options', () => {
    expect(() => new Webhooks({ urls: ['ftp://x/y'] })).toThrow(RestreamError);
    expect(() => new Webhooks({ urls: ['http://x/y'], secret: '' })).toThrow(/secret/);
    expect(() => new Webhooks({ urls: ['http://x/y'], maxQueued: 0 })).toThrow(/maxQueued/);
    expect(() => new Webhooks({ urls: ['http://x/y'], retry: { jitter: 2 } })).toThrow(/jitter/);
  });
});

describe('Backoff', () => {
  it('grows exponentially to its cap, with jitter, and starts over after reset', () => {
    const top = new Backoff({ initialDelay: 100, maxDelay: 1_000, factor: 2, jitter: 0.5, random: () => 0 });
    expect([top.next(), top.next(), top.next(), top.next(), top.next(), top.next()]).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    top.reset();
    expect(top.next()).toBe(100);
    const low = new Backoff({ initialDelay: 100, maxDelay: 1_000, jitter: 0.5, random: () => 0.999999 });
    expect(low.next()).toBe(50);
    expect(new Backoff({ jitter: 0 }).next()).toBe(1_000);
    expect(() => new Backoff({ initialDelay: 10, maxDelay: 5 })).toThrow(/initialDelay <= maxDelay/);
  });
});
