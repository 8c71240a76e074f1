// Our client in the roles the server's tests need: connected clients, publishers and players of 127.0.0.1.
import type { RtmpMessage } from '@rtmp/chunk';
import {
  RtmpClient,
  type RtmpClientOptions,
  type RtmpPlayer,
  type RtmpPublisher,
  type TagType,
} from '@rtmp/client';
import type { RtmpStatus } from '@rtmp/connection';

/** Options of a client of 127.0.0.1:`port`: everything but where it connects, and `app` (default `live`). */
export type LocalClientOptions = Omit<RtmpClientOptions, 'url' | 'host' | 'port'>;

/** An {@link RtmpClient} of 127.0.0.1:`port`, not connected yet. */
export function localClient(port: number, options: LocalClientOptions = {}): RtmpClient {
  return new RtmpClient({ host: '127.0.0.1', port, app: 'live', ...options });
}

/** An {@link RtmpClient} of 127.0.0.1:`port`, connected (handshake and `connect` done). */
export async function connectedClient(port: number, options: LocalClientOptions = {}): Promise<RtmpClient> {
  const client = localClient(port, options);
  await client.connect();
  return client;
}

/** Resolves with the next onStatus of `client` whose code is `code`. */
export function statusOf(client: RtmpClient, code: string): Promise<RtmpStatus> {
  return new Promise((resolve) => {
    const on = (status: RtmpStatus) => {
      if (status.code !== code) return;
      client.off('status', on);
      resolve(status);
    };
    client.on('status', on);
  });
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
/** Synthetic AAC-in-FLV tag bodies. */
export const aac = {
  header: () => Uint8Array.of(0xaf, 0, 0x12, 0x10),
  frame: (size: number) => {
    const body = new Uint8Array(size);
    body.set([0xaf, 1]);
    return body;
  },
};

/** An FLV tag type as a publisher sends it (8 audio, 9 video, 18 data); any other type is a fixture error. */
export function tagType(type: number): TagType {
  if (type !== 8 && type !== 9 && type !== 18) throw new Error(`FLV tag type ${type} is not 8, 9 or 18`);
  return type;
}

/** A client of the fault tests, with every onStatus it received. */
export interface TestPeer {
  client: RtmpClient;
  statuses: RtmpStatus[];
  /**
   * Resolves with the first onStatus whose code is `code`, received already or to come; rejects when the
   * connection closes first or after `timeoutMs`.
   */
  status(code: string, timeoutMs?: number): Promise<RtmpStatus>;
}

/** A publisher of the fault tests. */
export interface TestPublisher extends TestPeer {
  publisher: RtmpPublisher;
}

/** A player of the fault tests: every audio/video message it received, with its arrival time. */
export interface TestPlayer extends TestPeer {
  player: RtmpPlayer;
  media: (RtmpMessage & { at: number })[];
}

// The fault tests' clients: simple handshake, no idle timeout, FFmpeg's flashVer (as the hand-written peers they
// replace did), the server's own timeouts being what is under test.
const FAULT_PEER: LocalClientOptions = { digest: false, idleTimeout: 0, flashVer: 'LNX 9,0,124,2' };

async function testPeer(port: number): Promise<TestPeer> {
  const client = localClient(port, FAULT_PEER);
  const statuses: RtmpStatus[] = [];
  const waiters: { code: string; resolve: (s: RtmpStatus) => void }[] = [];
  client.on('status', (s) => {
    statuses.push(s);
    for (const w of waiters.filter((w) => w.code === s.code)) w.resolve(s);
  });
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  await client.connect();
  return {
    client,
    statuses,
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

/** Connects to 127.0.0.1:`port` and publishes `key`; resolves once NetStream.Publish.Start arrived. */
export async function publisher(port: number, key: string): Promise<TestPublisher> {
  const peer = await testPeer(port);
  return { ...peer, publisher: await peer.client.publish({ name: key }) };
}

/** Connects to 127.0.0.1:`port` and plays `key` from the live edge; resolves once NetStream.Play.Start arrived. */
export async function player(port: number, key: string): Promise<TestPlayer> {
  const peer = await testPeer(port);
  const played = await peer.client.play({ name: key, start: -2, demux: false });
  const media: TestPlayer['media'] = [];
  played.on('message', (m) => {
    if (m.type === 8 || m.type === 9) media.push({ ...m, at: Date.now() });
  });
  return { ...peer, player: played, media };
}
