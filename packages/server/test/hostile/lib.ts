// Shared by the hostile/fault suites, the attacker child process, bench/soak.ts and bench/fuzz.ts.
import { readdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AmfValue, encodeAmf0 } from '@rtmp/amf';
import { ChunkEncoder, MessageType, type RtmpMessage } from '@rtmp/chunk';
import { FlvReader, type FlvTag } from '@rtmp/flv-demux';
import { HandshakeClient } from '@rtmp/handshake';

/** `$RTMP_FIXTURES`, or `shared/fixtures` beside the repository root. */
export const FIXTURES =
  process.env.RTMP_FIXTURES ??
  path.resolve(fileURLToPath(import.meta.url), '../../../../../../shared/fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** One record of a `.rtmpcap` capture: direction (0 client->server), ms since accept, bytes as read. */
export interface CaptureRecord {
  dir: 0 | 1;
  ms: number;
  bytes: Uint8Array;
}

export function readCapture(file: string): CaptureRecord[] {
  const data = readFileSync(file);
  const out: CaptureRecord[] = [];
  let at = 0;
  while (at + 9 <= data.length) {
    const dir = data[at] as 0 | 1;
    const ms = data.readUInt32BE(at + 1);
    const len = data.readUInt32BE(at + 5);
    out.push({ dir, ms, bytes: data.subarray(at + 9, at + 9 + len) });
    at += 9 + len;
  }
  return out;
}

/** Every capture of the fixtures folder, by file name. */
export function allCaptures(): Map<string, CaptureRecord[]> {
  const dir = fixture('captures');
  const map = new Map<string, CaptureRecord[]>();
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith('.rtmpcap'))
    .sort()) {
    map.set(name, readCapture(path.join(dir, name)));
  }
  return map;
}

/** The tags of an FLV fixture. */
export function flvTags(name: string): FlvTag[] {
  return new FlvReader().push(readFileSync(fixture(name)));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Number of open file descriptors of this process (Linux). */
export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

/**
 * A raw RTMP speaker for hostile scenarios: does the client handshake with `@rtmp/handshake`, then lets
 * the caller write arbitrary bytes or chunk-encoded messages. It never answers anything the server sends.
 */
export class RawPeer {
  readonly socket: net.Socket;
  readonly encoder = new ChunkEncoder();
  readonly opened = Date.now();
  closedAt = 0;
  received = 0;
  /** Our port, kept after close (the socket forgets it). */
  localPort = 0;
  /** Every onStatus/_result/_error command name seen (cheap scan of the bytes, for assertions). */
  text = '';
  #closed: Promise<void>;

  constructor(port: number, host = '127.0.0.1') {
    this.socket = net.connect(port, host);
    this.socket.setNoDelay(true);
    this.socket.on('error', () => {});
    this.socket.once('connect', () => {
      this.localPort = this.socket.localPort ?? 0;
    });
    this.socket.on('data', (d: Buffer) => {
      this.received += d.length;
      if (this.text.length < 65536) this.text += d.toString('latin1').replace(/[^\x20-\x7e]/g, '');
    });
    this.#closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closedAt = Date.now();
        resolve();
      }),
    );
  }

  connected(): Promise<void> {
    if (!this.socket.connecting) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('close', () => reject(new Error('closed before connect')));
    });
  }

  closed(): Promise<void> {
    return this.#closed;
  }

  get isClosed(): boolean {
    return this.closedAt !== 0;
  }

  write(bytes: Uint8Array | readonly Uint8Array[]): void {
    if (this.socket.destroyed) return;
    if (bytes instanceof Uint8Array) this.socket.write(bytes);
    else for (const b of bytes) this.socket.write(b);
  }

  /** Completes the client handshake (simple unless `digest`). */
  async handshake(digest = false): Promise<void> {
    await this.connected();
    const client = new HandshakeClient({ digest });
    this.write(client.start());
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        let result: ReturnType<HandshakeClient['push']>;
        try {
          result = client.push(d);
        } catch (error) {
          reject(error);
          return;
        }
        for (const out of result.output) this.write(out);
        if (result.done) {
          this.socket.off('data', onData);
          this.socket.off('close', onClose);
          resolve();
        }
      };
      const onClose = () => reject(new Error('closed during handshake'));
      this.socket.on('data', onData);
      this.socket.once('close', onClose);
    });
  }

  send(message: RtmpMessage, csid = 3): void {
    this.write(this.encoder.encode(message, csid));
  }

  command(name: string, transactionId: number, args: readonly AmfValue[], streamId = 0): void {
    const payload = encodeAmf0([name, transactionId, ...args]);
    this.send({ type: MessageType.CommandAmf0, streamId, timestamp: 0, payload }, 3);
  }

  /** Sends a raw AMF0 command payload (already encoded) as message type 20. */
  commandBytes(payload: Uint8Array, streamId = 0): void {
    this.send({ type: MessageType.CommandAmf0, streamId, timestamp: 0, payload }, 3);
  }

  connect(app = 'live', tcUrl: AmfValue = `rtmp://127.0.0.1/${app}`): void {
    const object: Record<string, AmfValue> = Object.create(null);
    object.app = app;
    object.tcUrl = tcUrl;
    object.flashVer = 'FMLE/3.0';
    this.command('connect', 1, [object]);
  }

  /** connect + createStream + publish (or play) without waiting for replies; the server processes them in order. */
  publish(key: AmfValue, app = 'live'): void {
    this.connect(app);
    this.command('createStream', 2, [null]);
    this.command('publish', 3, [null, key, 'live'], 1);
  }

  play(key: AmfValue, app = 'live'): void {
    this.connect(app);
    this.command('createStream', 2, [null]);
    this.command('play', 3, [null, key, -2], 1);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A TCP proxy that can "cut the network": after `cut()` it stops forwarding in both directions and never closes
 * either side, as when a cable is pulled (no FIN, no RST). `close()` tears everything down.
 */
export class CuttableProxy {
  readonly server: net.Server;
  readonly sockets = new Set<net.Socket>();
  #cut = false;
  port = 0;

  constructor(targetPort: number) {
    this.server = net.createServer((down) => {
      const up = net.connect(targetPort, '127.0.0.1');
      for (const s of [down, up]) {
        s.on('error', () => {});
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      }
      down.on('data', (d) => {
        if (!this.#cut) up.write(d);
      });
      up.on('data', (d) => {
        if (!this.#cut) down.write(d);
      });
      // While cut, a close on one side is not propagated: the other side must find out by itself.
      down.on('close', () => {
        if (!this.#cut) up.destroy();
      });
      up.on('close', () => {
        if (!this.#cut) down.destroy();
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  cut(): void {
    this.#cut = true;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
