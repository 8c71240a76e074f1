import * as net from 'node:net';
import { type AmfValue, decodeAmf0, encodeAmf0 } from '@rtmp/amf';
import { encodeMessage } from '@rtmp/chunk';
import { watchDeadline } from '@rtmp/connection';
import { monotonicMs } from './clock.js';
import { videoKeyOf } from './video-key.js';

/**
 * A light RTMP player for the fan-out bench: hundreds of them must fit in the harness process beside the
 * publisher on a small machine, or the harness (not the server) becomes the bottleneck. It does the simple
 * handshake, connect/createStream/play, answers pings, acknowledges at the server's window, and walks the chunk
 * stream without reassembling media: it counts audio/video payload bytes and keeps the last bytes of each video
 * message, which identify it for the latency measurement. Only small non-media messages are buffered. The same
 * player runs in the harness process and in the probe process (probe-process.ts).
 */

/** Called per complete video message received while counting: its content key and {@link monotonicMs} then. */
export type VideoReceipt = (key: number, receivedAt: number) => void;

const HANDSHAKE_SIZE = 1 + 1536 * 2;
const SETUP_TIMEOUT = 15_000;
const MAX_CONTROL_MESSAGE = 64 * 1024;

interface ChunkStream {
  timestamp: number;
  length: number;
  type: number;
  streamId: number;
  received: number;
  /** Buffered payload of a small non-media message. */
  body: Uint8Array | undefined;
}

/** A counting player; see the module comment. */
export class LitePlayer {
  /** Audio + video payload bytes received while `counting`. */
  bytes = 0;
  counting = false;
  /** The connection ended before `stop()`. */
  closedEarly = false;

  #socket: net.Socket | undefined;
  #stopping = false;
  #handshake: Uint8Array | undefined = new Uint8Array(HANDSHAKE_SIZE);
  #handshakeHave = 0;
  #inChunkSize = 128;
  #streams = new Map<number, ChunkStream>();
  #header = new Uint8Array(18);
  #headerHave = 0;
  #current: ChunkStream | undefined;
  #chunkLeft = 0;
  #tail = new Uint8Array(8);
  #received = 0;
  #acked = 0;
  #window = 0;
  #onCommand: ((name: string, transaction: number, args: AmfValue[]) => void) | undefined;

  constructor(
    private readonly url: URL,
    private readonly name: string,
    private readonly onVideo: VideoReceipt,
  ) {}

  /** Connects and plays; resolves on NetStream.Play.Start. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const deadline = watchDeadline({ timeout: SETUP_TIMEOUT }, () =>
        fail(new Error(`no NetStream.Play.Start within ${SETUP_TIMEOUT} ms`)),
      );
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        deadline.clear();
        this.#socket?.destroy();
        reject(error);
      };
      const app = this.url.pathname.split('/')[1] ?? 'live';
      let streamId = 0;
      this.#onCommand = (name, transaction, args) => {
        if (name === '_result' && transaction === 1) {
          this.#send(20, 0, encodeAmf0(['createStream', 2, null]), 3);
        } else if (name === '_result' && transaction === 2) {
          streamId = typeof args[1] === 'number' ? args[1] : 1;
          this.#send(20, streamId, encodeAmf0(['play', 0, null, this.name, -2000]), 8);
        } else if (name === '_error') {
          fail(new Error(`server answered _error to transaction ${transaction}`));
        } else if (name === 'onStatus') {
          const info = args[1] as Record<string, AmfValue> | null | undefined;
          const code = info && typeof info === 'object' ? info.code : undefined;
          if (code === 'NetStream.Play.Start' && !settled) {
            settled = true;
            deadline.clear();
            resolve();
          } else if (info && typeof info === 'object' && info.level === 'error') {
            fail(new Error(`onStatus ${String(code)}`));
          }
        }
      };
      const socket = net.connect({ host: this.url.hostname, port: Number(this.url.port || 1935) });
      this.#socket = socket;
      socket.setNoDelay(true);
      socket.on('connect', () => {
        // C0 + C1 of the simple handshake (C1 bytes 4..7 zero): every server accepts it.
        const c0c1 = new Uint8Array(1 + 1536);
        c0c1[0] = 3;
        socket.write(c0c1);
      });
      socket.on('data', (data: Buffer) => {
        try {
          this.#onData(data, () => {
            const connect: Record<string, AmfValue> = {
              app,
              type: 'nonprivate',
              flashVer: 'LNX 9,0,124,2',
              tcUrl: `rtmp://${this.url.host}/${app}`,
              fpad: false,
              capabilities: 15,
              audioCodecs: 4071,
              videoCodecs: 252,
              videoFunction: 1,
            };
            this.#send(20, 0, encodeAmf0(['connect', 1, connect]), 3);
          });
        } catch (error) {
          fail(error as Error);
          this.closedEarly = true;
          socket.destroy();
        }
      });
      socket.on('error', (error) => fail(error));
      socket.on('close', () => {
        if (!this.#stopping) this.closedEarly = true;
        fail(new Error('connection closed during setup'));
      });
    });
  }

  stop(): void {
    this.#stopping = true;
    this.#socket?.destroy();
  }

  #send(type: number, streamId: number, payload: Uint8Array, csid: number): void {
    const slices = encodeMessage({ type, streamId, timestamp: 0, payload }, csid, 128);
    this.#socket?.write(slices.length === 1 ? (slices[0] as Uint8Array) : Buffer.concat(slices));
  }

  #onData(data: Buffer, handshakeDone: () => void): void {
    let offset = 0;
    if (this.#handshake) {
      const take = Math.min(HANDSHAKE_SIZE - this.#handshakeHave, data.length);
      this.#handshake.set(data.subarray(0, take), this.#handshakeHave);
      this.#handshakeHave += take;
      offset = take;
      if (this.#handshakeHave < HANDSHAKE_SIZE) return;
      // C2 = echo of S1.
      this.#socket?.write(this.#handshake.slice(1, 1537));
      this.#handshake = undefined;
      handshakeDone();
    }
    this.#received += data.length - offset;
    this.#walk(data, offset);
    if (this.#window > 0 && this.#received - this.#acked >= this.#window) {
      this.#acked = this.#received;
      const ack = new Uint8Array(4);
      new DataView(ack.buffer).setUint32(0, this.#received >>> 0);
      this.#send(3, 0, ack, 2);
    }
  }

  /** Walks chunks in `data` from `offset`: headers byte by byte (they may split), payload bytes by slices. */
  #walk(data: Uint8Array, offset: number): void {
    let at = offset;
    const end = data.length;
    while (at < end) {
      const cs = this.#current;
      if (cs !== undefined && this.#chunkLeft > 0) {
        const n = Math.min(this.#chunkLeft, end - at);
        this.#payload(cs, data, at, at + n);
        at += n;
        this.#chunkLeft -= n;
        cs.received += n;
        if (cs.received === cs.length) this.#complete(cs);
        if (this.#chunkLeft === 0) this.#current = undefined;
        continue;
      }
      this.#header[this.#headerHave++] = data[at++] as number;
      this.#tryHeader();
    }
  }

  /** Parses the header gathered so far once it is complete; sets up the payload of the chunk. */
  #tryHeader(): void {
    const h = this.#header;
    const have = this.#headerHave;
    const b0 = h[0] as number;
    const fmt = b0 >> 6;
    let csid = b0 & 63;
    let pos = 1;
    if (csid === 0) {
      if (have < 2) return;
      csid = (h[1] as number) + 64;
      pos = 2;
    } else if (csid === 1) {
      if (have < 3) return;
      csid = (h[1] as number) + (h[2] as number) * 256 + 64;
      pos = 3;
    }
    const size = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    if (have < pos + size) return;
    let cs = this.#streams.get(csid);
    if (!cs) {
      cs = { timestamp: 0, length: 0, type: 0, streamId: 0, received: 0, body: undefined };
      this.#streams.set(csid, cs);
    }
    let ts = 0;
    if (size >= 3) ts = ((h[pos] as number) << 16) | ((h[pos + 1] as number) << 8) | (h[pos + 2] as number);
    const extended = size >= 3 && ts === 0xffffff;
    if (extended && have < pos + size + 4) return;
    // Decided before the header overwrites the length: a new message starts when the last one is complete.
    const fresh = cs.received === 0 || cs.received >= cs.length;
    if (size >= 7) {
      cs.length = ((h[pos + 3] as number) << 16) | ((h[pos + 4] as number) << 8) | (h[pos + 5] as number);
      cs.type = h[pos + 6] as number;
    }
    if (size === 11) {
      cs.streamId =
        (h[pos + 7] as number) |
        ((h[pos + 8] as number) << 8) |
        ((h[pos + 9] as number) << 16) |
        ((h[pos + 10] as number) << 24);
    }
    this.#headerHave = 0;
    if (fresh) {
      cs.received = 0;
      if (extended) {
        const at = pos + size;
        ts =
          (((h[at] as number) << 24) |
            ((h[at + 1] as number) << 16) |
            ((h[at + 2] as number) << 8) |
            (h[at + 3] as number)) >>>
          0;
      }
      if (size > 0) cs.timestamp = ts;
      const small = cs.type !== 8 && cs.type !== 9 && cs.length <= MAX_CONTROL_MESSAGE;
      cs.body = small ? new Uint8Array(cs.length) : undefined;
      if (cs.length === 0) {
        this.#complete(cs);
        return;
      }
    }
    this.#current = cs;
    this.#chunkLeft = Math.min(this.#inChunkSize, cs.length - cs.received);
  }

  #payload(cs: ChunkStream, data: Uint8Array, from: number, to: number): void {
    if (cs.type === 8 || cs.type === 9) {
      if (this.counting) this.bytes += to - from;
      if (cs.type === 9 && cs.received + (to - from) + 8 >= cs.length) {
        // Keep the last 8 bytes of the message in order.
        const n = to - from;
        if (n >= 8) this.#tail.set(data.subarray(to - 8, to));
        else {
          this.#tail.copyWithin(0, n);
          this.#tail.set(data.subarray(from, to), 8 - n);
        }
      }
    } else if (cs.body) {
      cs.body.set(data.subarray(from, to), cs.received);
    }
  }

  #complete(cs: ChunkStream): void {
    if (cs.type === 9) {
      if (this.counting && cs.length >= 8) {
        this.onVideo(videoKeyOf(cs.length, this.#tail, 8), monotonicMs());
      }
      return;
    }
    const body = cs.body;
    cs.body = undefined;
    if (!body) return;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    switch (cs.type) {
      case 1:
        if (body.length >= 4) this.#inChunkSize = view.getUint32(0) & 0x7fffffff;
        break;
      case 5:
        if (body.length >= 4) this.#window = view.getUint32(0);
        break;
      case 4:
        // Ping request -> ping response with the same timestamp.
        if (body.length >= 6 && view.getUint16(0) === 6) {
          const reply = new Uint8Array(6);
          reply[1] = 7;
          reply.set(body.subarray(2, 6), 2);
          this.#send(4, 0, reply, 2);
        }
        break;
      case 20: {
        let values: AmfValue[];
        try {
          values = decodeAmf0(body);
        } catch {
          return;
        }
        const [name, transaction, ...args] = values;
        if (typeof name === 'string')
          this.#onCommand?.(name, typeof transaction === 'number' ? transaction : 0, args);
        break;
      }
    }
  }
}
