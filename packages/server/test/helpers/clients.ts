import * as net from 'node:net';
import { RtmpConnection, type RtmpConnectionOptions, type RtmpStatus } from '../../src/index.js';

/** Our client role over TCP, handshaken and connected to `app` (default `live`). */
export async function connectedClient(
  port: number,
  { app = 'live', ...options }: Partial<RtmpConnectionOptions> & { app?: string } = {},
  socket: net.Socket = net.connect(port, '127.0.0.1'),
): Promise<RtmpConnection> {
  const c = new RtmpConnection(socket, { ...options, role: 'client' });
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('close', (e) => reject(e ?? new Error('closed before ready')));
  });
  await c.call('connect', [{ app, tcUrl: `rtmp://127.0.0.1:${port}/${app}` }]);
  return c;
}

/** Resolves with the next onStatus whose code matches (any code when omitted). */
export function statusOf(c: RtmpConnection, code?: string): Promise<RtmpStatus> {
  return new Promise((resolve) => {
    const on = (s: RtmpStatus) => {
      if (code !== undefined && s.code !== code) return;
      c.off('status', on);
      resolve(s);
    };
    c.on('status', on);
  });
}

/** createStream + publish/play; resolves with the stream id once the start status arrived. */
export async function startStream(
  c: RtmpConnection,
  command: 'publish' | 'play',
  key: string,
): Promise<number> {
  const id = (await c.call('createStream', [null])).args[0] as number;
  const want = command === 'publish' ? 'NetStream.Publish.Start' : 'NetStream.Play.Start';
  const started = new Promise<void>((resolve, reject) => {
    const on = (s: RtmpStatus) => {
      if (s.level !== 'error' && s.code !== want) return; // Play.Reset comes first
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

/** Synthetic AVC-in-FLV tag bodies: enough for the relay (which only looks at the first bytes). */
export const avc = {
  header: () => Uint8Array.of(0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff),
  frame: (key: boolean, size: number, fill = 0) => {
    const body = new Uint8Array(size).fill(fill);
    body.set([key ? 0x17 : 0x27, 1, 0, 0, 0]);
    return body;
  },
};
export const aac = {
  header: () => Uint8Array.of(0xaf, 0, 0x12, 0x10),
  frame: (size: number) => {
    const body = new Uint8Array(size);
    body.set([0xaf, 1]);
    return body;
  },
};

/** Sends one video (9) or audio (8) message. */
export function sendMedia(
  c: RtmpConnection,
  streamId: number,
  type: 8 | 9,
  timestamp: number,
  payload: Uint8Array,
) {
  return c.send({ type, streamId, timestamp, payload });
}
