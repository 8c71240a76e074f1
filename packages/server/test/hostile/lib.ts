// RTMP-speaking helpers of the hostile/fault suites, the attacker child process and bench/soak.ts (the tooling
// that needs no @rtmp code lives in @rtmp/testing).
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { type AmfValue, encodeAmf0 } from '@rtmp/amf';
import { ChunkEncoder, MessageType, type RtmpMessage } from '@rtmp/chunk';
import { FlvReader, type FlvTag } from '@rtmp/flv-demux';
import { HandshakeClient } from '@rtmp/handshake';
import { fixture } from '@rtmp/testing';

/** The tags of an FLV fixture. */
export function flvTags(name: string): FlvTag[] {
  return new FlvReader().push(readFileSync(fixture(name)));
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
