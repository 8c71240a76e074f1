// Minimal publisher/player built on the connection core (the server package cannot depend on @rtmp/client).
import * as net from 'node:net';
import { MessageType, type RtmpMessage } from '@rtmp/chunk';
import { RtmpConnection, type RtmpStatus } from '../../src/index.js';

export interface TestClient {
  conn: RtmpConnection;
  streamId: number;
  statuses: RtmpStatus[];
  /** Resolves when an onStatus with `code` arrives (or rejects when the connection closes first). */
  status(code: string, timeoutMs?: number): Promise<RtmpStatus>;
  closed: Promise<void>;
}

async function open(port: number, socket?: net.Socket): Promise<TestClient> {
  const conn = new RtmpConnection(socket ?? net.connect(port, '127.0.0.1'), {
    role: 'client',
    digest: false,
    idleTimeout: 0,
  });
  const statuses: RtmpStatus[] = [];
  const waiters: { code: string; resolve: (s: RtmpStatus) => void }[] = [];
  conn.on('status', (s) => {
    statuses.push(s);
    for (const w of waiters.filter((w) => w.code === s.code)) w.resolve(s);
  });
  const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    conn.once('ready', () => resolve());
    conn.once('close', (e) => reject(e ?? new Error('closed before ready')));
  });
  await conn.call('connect', [
    { app: 'live', tcUrl: `rtmp://127.0.0.1:${port}/live`, flashVer: 'LNX 9,0,124,2' },
  ]);
  const created = await conn.call('createStream', [null]);
  const streamId = typeof created.args[0] === 'number' ? created.args[0] : 1;
  return {
    conn,
    streamId,
    statuses,
    closed,
    status(code: string, timeoutMs = 10_000) {
      const seen = statuses.find((s) => s.code === code);
      if (seen) return Promise.resolve(seen);
      return new Promise<RtmpStatus>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${code} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          code,
          resolve: (s) => {
            clearTimeout(timer);
            resolve(s);
          },
        });
        void closed.then(() => {
          clearTimeout(timer);
          reject(new Error(`closed before ${code}`));
        });
      });
    },
  };
}

/** Connects, creates a stream and publishes `key`; resolves once NetStream.Publish.Start arrived. */
export async function publisher(port: number, key: string, socket?: net.Socket): Promise<TestClient> {
  const c = await open(port, socket);
  c.conn.sendCommand('publish', 0, [null, key, 'live'], c.streamId);
  await c.status('NetStream.Publish.Start');
  return c;
}

/** A player that records every audio/video message it receives, with its arrival time. */
export interface TestPlayer extends TestClient {
  media: (RtmpMessage & { at: number })[];
}

export async function player(port: number, key: string): Promise<TestPlayer> {
  const c = (await open(port)) as TestPlayer;
  c.media = [];
  c.conn.on('message', (m) => {
    if (m.type === MessageType.Audio || m.type === MessageType.Video) c.media.push({ ...m, at: Date.now() });
  });
  c.conn.sendCommand('play', 0, [null, key, -2], c.streamId);
  await c.status('NetStream.Play.Start');
  return c;
}

/** Sends one FLV tag body as an RTMP message of the publisher's stream. */
export function sendTag(c: TestClient, type: number, timestamp: number, body: Uint8Array): boolean {
  return c.conn.send({ type, streamId: c.streamId, timestamp, payload: body });
}
