// The peer of the session tests: the bare connection core over TCP (the server may not depend on @rtmp/client).
import * as net from 'node:net';
import { RtmpConnection } from '@rtmp/connection';
import { next } from '@rtmp/testing';
import { afterEach } from 'vitest';
import { RtmpServer, type RtmpServerOptions } from '../src/index.js';

/** Our client role over TCP, handshaken, nothing sent yet. */
export async function handshaken(port: number): Promise<RtmpConnection> {
  const c = new RtmpConnection(net.connect(port, '127.0.0.1'), { role: 'client' });
  await next(c, 'ready');
  return c;
}

/** Handshaken and connected to `app`. */
export async function connected(port: number, app = 'live'): Promise<RtmpConnection> {
  const c = await handshaken(port);
  await c.call('connect', [{ app, tcUrl: `rtmp://127.0.0.1:${port}/${app}` }]);
  return c;
}

/** `createStream`; the id the server gave. */
export async function createStream(c: RtmpConnection): Promise<number> {
  const id = (await c.call('createStream', [null])).args[0];
  if (typeof id !== 'number') throw new Error(`createStream answered ${String(id)}`);
  return id;
}

/** A server on a free loopback port per test, stopped after it: `servers.start(options)` resolves with the port. */
export function serverPerTest(): {
  start(options: RtmpServerOptions): Promise<number>;
  readonly server: RtmpServer;
} {
  let current: RtmpServer | undefined;
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  return {
    start(options) {
      current = new RtmpServer({ host: '127.0.0.1', port: 0, ...options });
      return current.start();
    },
    get server() {
      if (!current) throw new Error('no server started in this test');
      return current;
    },
  };
}
