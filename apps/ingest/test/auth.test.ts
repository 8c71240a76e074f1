import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Authorizer, type AuthRequest, splitStreamName } from '../src/auth.js';

const req = (over: Partial<AuthRequest> = {}): AuthRequest => ({
  action: 'publish',
  app: 'live',
  key: 'good',
  query: '',
  ip: '127.0.0.1',
  ...over,
});

describe('splitStreamName', () => {
  it('splits the query string', () => {
    expect(splitStreamName('k?token=1&a=b')).toEqual({ key: 'k', query: 'token=1&a=b' });
    expect(splitStreamName('k')).toEqual({ key: 'k', query: '' });
  });
});

describe('Authorizer', () => {
  it('checks apps and the key list (publishing only)', async () => {
    const a = new Authorizer({ apps: ['live'], keys: ['good'], keysUrl: null, keysUrlTimeoutMs: 1000 });
    expect(a.appAllowed('live')).toBe(true);
    expect(a.appAllowed('other')).toBe(false);
    expect(await a.authorize(req())).toEqual({ allowed: true });
    expect(await a.authorize(req({ key: 'bad' }))).toEqual({
      allowed: false,
      reason: 'stream key not allowed',
    });
    expect(await a.authorize(req({ app: 'x' }))).toMatchObject({ allowed: false });
    expect(await a.authorize(req({ key: '' }))).toMatchObject({ allowed: false });
    expect(await a.authorize(req({ action: 'play', key: 'anything' }))).toEqual({ allowed: true });
  });

  it('accepts any key without a list', async () => {
    const a = new Authorizer({ apps: ['live'], keys: null, keysUrl: null, keysUrlTimeoutMs: 1000 });
    expect(await a.authorize(req({ key: 'whatever' }))).toEqual({ allowed: true });
  });

  it('asks the HTTP callback with the documented JSON, denies on non-2xx, errors and timeouts', async () => {
    const bodies: unknown[] = [];
    const server = createServer((r, res) => {
      let data = '';
      r.on('data', (c: Buffer) => {
        data += c.toString();
      });
      r.on('end', () => {
        const body = JSON.parse(data) as AuthRequest;
        bodies.push({ method: r.method, type: r.headers['content-type'], body });
        if (body.key === 'slow') return; // never answers
        res.writeHead(body.query === 'token=ok' ? 204 : 403).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;
    try {
      const a = new Authorizer({ apps: ['live'], keys: null, keysUrl: url, keysUrlTimeoutMs: 5000 });
      expect(await a.authorize(req({ query: 'token=ok', action: 'play' }))).toEqual({ allowed: true });
      expect(await a.authorize(req({ query: 'token=no' }))).toEqual({
        allowed: false,
        reason: 'keys-url answered 403',
      });
      const impatient = new Authorizer({ apps: ['live'], keys: null, keysUrl: url, keysUrlTimeoutMs: 200 });
      const slow = await impatient.authorize(req({ key: 'slow' }));
      expect(slow.allowed).toBe(false);
      expect(bodies[0]).toEqual({
        method: 'POST',
        type: 'application/json',
        body: { action: 'play', app: 'live', key: 'good', query: 'token=ok', ip: '127.0.0.1' },
      });
      const down = new Authorizer({
        apps: ['live'],
        keys: null,
        keysUrl: 'http://127.0.0.1:1/',
        keysUrlTimeoutMs: 1000,
      });
      expect((await down.authorize(req())).allowed).toBe(false);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
