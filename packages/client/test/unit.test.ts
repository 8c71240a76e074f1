import * as net from 'node:net';
import { RtmpError } from '@rtmp/connection';
import { testReadmeErrorTable } from '@rtmp/testing/readme-test';
import { afterEach, describe, expect, it } from 'vitest';
import { toClientError } from '../src/errors.js';
import { parseRtmpUrl, RTMP_CLIENT_ERROR_CODES, RtmpClient, RtmpClientError } from '../src/index.js';

describe('parseRtmpUrl', () => {
  it('splits app and stream name, keeping the query on the stream name', () => {
    expect(parseRtmpUrl('rtmp://h/live/key?token=x')).toEqual({
      protocol: 'rtmp',
      secure: false,
      host: 'h',
      port: 1935,
      app: 'live',
      streamName: 'key?token=x',
      tcUrl: 'rtmp://h/live',
    });
  });

  it('uses 443 for rtmps and keeps an explicit port in tcUrl', () => {
    expect(parseRtmpUrl('rtmps://example.com/app/k')).toMatchObject({
      secure: true,
      port: 443,
      tcUrl: 'rtmps://example.com/app',
    });
    expect(parseRtmpUrl('rtmp://example.com:1940/app/k')).toMatchObject({
      port: 1940,
      tcUrl: 'rtmp://example.com:1940/app',
    });
  });

  it('takes every segment but the last as the app', () => {
    expect(parseRtmpUrl('rtmp://h/app/inst/key')).toMatchObject({ app: 'app/inst', streamName: 'key' });
    expect(parseRtmpUrl('rtmp://h/live')).toMatchObject({ app: 'live', streamName: '' });
  });

  it('handles IPv6 hosts', () => {
    expect(parseRtmpUrl('rtmp://[::1]:1936/live/k')).toMatchObject({
      host: '::1',
      port: 1936,
      tcUrl: 'rtmp://[::1]:1936/live',
    });
  });

  it('rejects other schemes and URLs without an app', () => {
    for (const bad of ['http://h/live/k', 'rtmp://h', 'rtmp://h/', 'not a url', 'rtmp:///live/k']) {
      expect(() => parseRtmpUrl(bad), bad).toThrow(RtmpClientError);
      try {
        parseRtmpUrl(bad);
      } catch (error) {
        expect((error as RtmpClientError).code).toBe('ERR_RTMP_INVALID_URL');
      }
    }
  });
});

describe('RtmpClient options', () => {
  it('lets options override the URL', () => {
    const c = new RtmpClient({
      url: 'rtmp://h/live/key',
      app: 'other',
      streamName: 's',
      port: 2000,
      tcUrl: 'rtmp://x/y',
    });
    expect(c.target).toMatchObject({
      host: 'h',
      app: 'other',
      streamName: 's',
      port: 2000,
      tcUrl: 'rtmp://x/y',
    });
  });

  it('builds a target from host and app', () => {
    const c = new RtmpClient({ host: 'h', app: 'live', secure: true });
    expect(c.target).toMatchObject({ port: 443, tcUrl: 'rtmps://h:443/live', secure: true });
  });

  it('rejects bad options with ERR_RTMP_INVALID_OPTION', () => {
    expect(() => new RtmpClient({ url: 'rtmp://h/live/k', chunkSize: 0 })).toThrow(/chunkSize/);
    expect(() => new RtmpClient({ url: 'rtmp://h/live/k', timeout: -1 })).toThrow(RtmpClientError);
    expect(() => new RtmpClient({ url: 'rtmp://h/live/k', port: 70000 })).toThrow(RtmpClientError);
    expect(() => new RtmpClient({})).toThrow(RtmpClientError);
  });

  it('refuses publish and play before connect', async () => {
    const c = new RtmpClient({ url: 'rtmp://127.0.0.1/live/k' });
    await expect(c.publish()).rejects.toMatchObject({ code: 'ERR_RTMP_INVALID_STATE' });
    await expect(c.play()).rejects.toMatchObject({ code: 'ERR_RTMP_INVALID_STATE' });
  });
});

describe('timeouts, aborts and socket errors', () => {
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** A TCP server that accepts and never answers the handshake. */
  async function silentServer(): Promise<number> {
    const server = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  }

  it('a silent server times out the connect step', async () => {
    const port = await silentServer();
    const c = new RtmpClient({ url: `rtmp://127.0.0.1:${port}/live/k` });
    const started = Date.now();
    await expect(c.connect({ timeout: 200 })).rejects.toMatchObject({
      code: 'ERR_RTMP_TIMEOUT',
      step: 'connect',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(c.connected).toBe(false);
  });

  it('an AbortSignal aborts the connect step', async () => {
    const port = await silentServer();
    const c = new RtmpClient({ url: `rtmp://127.0.0.1:${port}/live/k` });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(c.connect({ signal: controller.signal })).rejects.toMatchObject({
      code: 'ERR_RTMP_ABORTED',
    });
    await expect(c.connect({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_RTMP_ABORTED',
    });
  });

  it('a refused TCP connection is ERR_RTMP_SOCKET', async () => {
    const port = await silentServer();
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const c = new RtmpClient({ url: `rtmp://127.0.0.1:${port}/live/k` });
    await expect(c.connect()).rejects.toMatchObject({ code: 'ERR_RTMP_SOCKET', step: 'connect' });
  });

  it('garbage instead of a handshake is a typed error', async () => {
    const server = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.write(Buffer.alloc(4000, 0x42));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const c = new RtmpClient({ url: `rtmp://127.0.0.1:${port}/live/k`, timeout: 2_000 });
    const error = await c.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RtmpClientError);
    // Deterministic: the handshake reader rejects S0 (0x42 is no RTMP version) as soon as the first byte arrives,
    // while the server keeps the socket open and the step timeout is seconds away.
    expect(error).toMatchObject({ code: 'ERR_RTMP_HANDSHAKE_FAILED', step: 'connect' });
  });
});

describe('errors', () => {
  testReadmeErrorTable(import.meta.url, {
    RtmpClientError: {
      codes: RTMP_CLIENT_ERROR_CODES,
      make: (code) => new RtmpClientError(code as RtmpClientError['code'], 'connection', 'x'),
      is: (value) => value instanceof RtmpClientError && value instanceof RtmpError,
    },
  });

  it('maps every core code: a refused call keeps the code of its step', () => {
    const core = (code: RtmpError['code']) => new RtmpError(code, 'x');
    expect(toClientError(core('ERR_RTMP_CALL_FAILED'), 'connect', 'ERR_RTMP_CONNECT_REJECTED').code).toBe(
      'ERR_RTMP_CONNECT_REJECTED',
    );
    expect(toClientError(core('ERR_RTMP_PING_TIMEOUT'), 'play', 'ERR_RTMP_CLOSED').code).toBe(
      'ERR_RTMP_TIMEOUT',
    );
    expect(toClientError(core('ERR_RTMP_HANDLER_FAILED'), 'play', 'ERR_RTMP_CLOSED').code).toBe(
      'ERR_RTMP_HANDLER_FAILED',
    );
    const closed = new RtmpError('ERR_RTMP_CLOSED', 'closed', { cause: core('ERR_RTMP_SOCKET') });
    expect(toClientError(closed, 'publish', 'ERR_RTMP_CLOSED').code).toBe('ERR_RTMP_SOCKET');
    expect(toClientError(new Error('x'), 'publish', 'ERR_RTMP_PUBLISH_REJECTED').code).toBe(
      'ERR_RTMP_PUBLISH_REJECTED',
    );
  });

  it('instanceof works across copies through the brand', () => {
    const error = new RtmpClientError('ERR_RTMP_CLOSED', 'connection', 'x');
    expect(error).toBeInstanceOf(RtmpClientError);
    expect({ [Symbol.for('@rtmp/client.RtmpClientError')]: true }).toBeInstanceOf(RtmpClientError);
    expect(new Error('x')).not.toBeInstanceOf(RtmpClientError);
  });
});
