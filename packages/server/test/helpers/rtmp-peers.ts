import * as net from 'node:net';
import { RtmpConnection, type RtmpStatus } from '@rtmp/connection';
import { wrapSetDataFrame } from '@rtmp/flv-demux';
import type { Tag } from './relay-model.js';

// Publishers and players over TCP built on RtmpConnection (the connection core), for relay tests that need exact
// control of what is sent when: no client package (the server never depends on @rtmp/client).

/** Connects and sends `connect` to app `live`; the caller closes the connection. */
export async function connectLive(port: number): Promise<RtmpConnection> {
  const c = new RtmpConnection(net.connect(port, '127.0.0.1'), { role: 'client' });
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('close', (e) => reject(e ?? new Error('closed before ready')));
  });
  await c.call('connect', [{ app: 'live', tcUrl: `rtmp://127.0.0.1:${port}/live` }]);
  return c;
}

/** createStream then publish or play `key`; resolves with the stream id once the start status came. */
export async function startStream(
  c: RtmpConnection,
  command: 'publish' | 'play',
  key: string,
): Promise<number> {
  const id = (await c.call('createStream', [null])).args[0] as number;
  const want = command === 'publish' ? 'NetStream.Publish.Start' : 'NetStream.Play.Start';
  const started = new Promise<void>((resolve, reject) => {
    const on = (s: RtmpStatus) => {
      if (s.level !== 'error' && s.code !== want) return;
      c.off('status', on);
      if (s.level === 'error') reject(new Error(s.code));
      else resolve();
    };
    c.on('status', on);
  });
  c.sendCommand(command, 0, command === 'publish' ? [null, key, 'live'] : [null, key], id);
  await started;
  return id;
}

/** The audio, video and data messages a player receives (data as sent, `|RtmpSampleAccess` left out). */
export function recordTags(c: RtmpConnection): Tag[] {
  const tags: Tag[] = [];
  c.on('message', (m) => {
    if (m.type === 8 || m.type === 9)
      tags.push({ type: m.type, timestamp: m.timestamp, body: m.payload.slice() });
  });
  c.on('data', (d) => {
    if (d.values[0] !== '|RtmpSampleAccess')
      tags.push({ type: 18, timestamp: d.timestamp, body: d.payload.slice() });
  });
  return tags;
}

/** Publishes `tags` on `streamId` (metadata wrapped in `@setDataFrame`, as publishers send it), with backpressure. */
export async function sendTags(c: RtmpConnection, streamId: number, tags: readonly Tag[]): Promise<void> {
  for (const tag of tags) {
    const payload = tag.type === 18 ? wrapSetDataFrame(tag.body) : tag.body;
    if (!c.send({ type: tag.type, streamId, timestamp: tag.timestamp, payload })) {
      await new Promise((resolve) => c.once('drain', () => resolve(undefined)));
    }
  }
}
