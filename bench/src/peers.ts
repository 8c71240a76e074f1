import { once } from 'node:events';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeAmf0 } from '@rtmp/amf';
import { RtmpConnection, type RtmpStatus } from '@rtmp/connection';
import type { RawFlvTag as FlvTag } from '@rtmp/testing';
import { monotonicMs } from './clock.js';
import { videoKey } from './video-key.js';

/**
 * Minimal RTMP peers for the fan-out bench, on the connection core of `@rtmp/server` (the same code `@rtmp/client`
 * is built on), so the harness does not depend on a client still being written. They speak the FFmpeg dialect:
 * connect, createStream, publish/play, which nginx-rtmp and node-media-server both accept.
 */

const CONNECT_TIMEOUT = 15_000;

async function open(url: URL): Promise<RtmpConnection> {
  const socket = net.connect({ host: url.hostname, port: Number(url.port || 1935) });
  const connection = new RtmpConnection(socket, {
    role: 'client',
    callTimeout: CONNECT_TIMEOUT,
    idleTimeout: 0,
  });
  const closed = once(connection, 'close').then(([error]) => {
    throw new Error(`connection closed during setup${error ? `: ${error.code} ${error.message}` : ''}`);
  });
  closed.catch(() => {});
  await Promise.race([once(connection, 'ready'), closed]);
  const app = url.pathname.split('/')[1] ?? 'live';
  await Promise.race([
    connection.call('connect', [
      {
        app,
        type: 'nonprivate',
        flashVer: 'LNX 9,0,124,2',
        tcUrl: `rtmp://${url.host}/${app}`,
        fpad: false,
        capabilities: 15,
        audioCodecs: 4071,
        videoCodecs: 252,
        videoFunction: 1,
      },
    ]),
    closed,
  ]);
  return connection;
}

function waitStatus(connection: RtmpConnection, code: string): Promise<RtmpStatus> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`no ${code} within ${CONNECT_TIMEOUT} ms`)),
      CONNECT_TIMEOUT,
    );
    const onStatus = (status: RtmpStatus): void => {
      if (status.code === code) done(undefined, status);
      else if (status.level === 'error') done(new Error(`${status.code}: ${status.description}`));
    };
    const onClose = (): void => done(new Error(`closed before ${code}`));
    const done = (error: Error | undefined, status?: RtmpStatus): void => {
      clearTimeout(timer);
      connection.off('status', onStatus);
      connection.off('close', onClose);
      if (error) reject(error);
      else resolve(status as RtmpStatus);
    };
    connection.on('status', onStatus);
    connection.on('close', onClose);
  });
}

async function createStream(connection: RtmpConnection): Promise<number> {
  const result = await connection.call('createStream', [null]);
  const id = result.args[0];
  if (typeof id !== 'number') throw new Error('createStream answered without a stream id');
  return id;
}

const SET_DATA_FRAME = encodeAmf0(['@setDataFrame']);

/** Publishes FLV tags in real time (paced by their timestamps), recording when each video message was written. */
export class RealtimePublisher {
  /**
   * Video key -> {@link monotonicMs} when written (a clock the probe process shares); NaN for keys seen twice in
   * one lap (ambiguous).
   */
  readonly sentAt = new Map<number, number>();
  /** Audio + video payload bytes written, with the time of each write, for the expected-bytes window. */
  readonly sent: { at: number; bytes: number }[] = [];
  #connection: RtmpConnection | undefined;
  #streamId = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #lapOf = new Map<number, number>();

  constructor(
    private readonly url: URL,
    private readonly name: string,
    private readonly tags: readonly FlvTag[],
  ) {}

  async start(): Promise<void> {
    const connection = await open(this.url);
    this.#connection = connection;
    this.#streamId = await createStream(connection);
    const started = waitStatus(connection, 'NetStream.Publish.Start');
    connection.sendCommand('publish', 0, [null, this.name, 'live'], this.#streamId);
    await started;
    connection.setChunkSize(4096);
    const script = this.tags.find((t) => t.type === 18);
    if (script) {
      const payload = Buffer.concat([SET_DATA_FRAME, script.body]);
      connection.send({ type: 18, streamId: this.#streamId, timestamp: 0, payload });
    }
    this.#loop();
  }

  /** Sends tags whose time has come, looping over the file (timestamps keep increasing across loops). */
  #loop(): void {
    const media = this.tags.filter((t) => t.type === 8 || t.type === 9);
    const duration = (media[media.length - 1]?.timestamp ?? 0) + 40;
    const t0 = performance.now();
    let index = 0;
    let lap = 0;
    const tick = (): void => {
      if (this.#stopped || !this.#connection || this.#connection.closed) return;
      const elapsed = performance.now() - t0;
      const connection = this.#connection;
      connection.socket.cork();
      for (;;) {
        const tag = media[index];
        if (!tag) break;
        const timestamp = tag.timestamp + lap * duration;
        if (timestamp > elapsed) break;
        const now = performance.now();
        if (tag.type === 9) {
          const sent = monotonicMs();
          // Each lap over the file repeats the keys: keep the latest send; a key repeated within one lap is
          // ambiguous and carries no latency sample from then on.
          const key = videoKey(tag.body);
          const seenLap = this.#lapOf.get(key);
          if (seenLap === lap || Number.isNaN(this.sentAt.get(key) ?? 0)) this.sentAt.set(key, Number.NaN);
          else this.sentAt.set(key, sent);
          this.#lapOf.set(key, lap);
        }
        connection.send({ type: tag.type, streamId: this.#streamId, timestamp, payload: tag.body });
        this.sent.push({ at: now, bytes: tag.body.length });
        index++;
        if (index === media.length) {
          index = 0;
          lap++;
        }
      }
      connection.socket.uncork();
      this.#timer = setTimeout(tick, 2);
    };
    tick();
  }

  /** Payload bytes written between two performance.now() instants. */
  bytesBetween(from: number, to: number): number {
    let total = 0;
    for (const s of this.sent) if (s.at >= from && s.at < to) total += s.bytes;
    return total;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#connection?.destroy();
  }
}
