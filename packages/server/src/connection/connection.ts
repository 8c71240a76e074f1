import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { type AmfValue, decodeCommandPayload, encodeAmf0, encodeCommandPayload } from '@rtmp/amf';
import {
  AckCounter,
  ChunkDecoder,
  ChunkEncoder,
  type ControlMessage,
  decodeControlMessage,
  encodeAcknowledgement,
  encodeSetPeerBandwidth,
  encodeUserControl,
  encodeWindowAckSize,
  MessageType,
  type PeerBandwidthLimit,
  type RtmpMessage,
  splitAggregate,
  type UserControlEvent,
} from '@rtmp/chunk';
import { HandshakeClient, HandshakeServer } from '@rtmp/handshake';
import { RtmpError, type RtmpErrorCode, toRtmpError } from '../errors.js';
import type { BufferBudget } from './budget.js';
import { ChunkStreams } from './control.js';

/** Which side of the handshake this connection plays. Nothing else in the core depends on it. */
export type RtmpRole = 'server' | 'client';

/** Options of {@link RtmpConnection}. Every limit has a safe default. */
export interface RtmpConnectionOptions {
  /** `'server'` answers C0/C1, `'client'` sends C0/C1 at once. */
  role: RtmpRole;
  /** Client role: use the digest (FP9) handshake. Default `true`. */
  digest?: boolean;
  /** Milliseconds allowed for the handshake to complete. Default 10 000; 0 disables. */
  handshakeTimeout?: number;
  /** Close the connection when nothing has been received for this long (ms). Default 60 000; 0 disables. */
  idleTimeout?: number;
  /** Send a ping request when nothing has been received for this long (ms), to detect dead peers. Default 0 (off). */
  pingInterval?: number;
  /** Reject a message whose declared length exceeds this many bytes. Default (and maximum) 16 MiB - 1. */
  maxMessageSize?: number;
  /** Maximum number of distinct chunk stream ids the peer may use. Default 64. */
  maxChunkStreams?: number;
  /**
   * Most bytes the chunk decoder may hold for incomplete messages (whole socket reads pinned by partial
   * payloads are counted); above it the connection closes with `ERR_RTMP_BUFFER_LIMIT`. Default
   * `maxMessageSize` + 1 MiB: one message of the largest allowed size can always arrive (a 4K keyframe of
   * several MB included), with room for interleaved audio and partly used reads.
   */
  maxBufferedBytes?: number;
  /**
   * A budget shared with other connections (see {@link BufferBudget}): when all members together hold more
   * than its limit, the one holding the most is closed with `ERR_RTMP_MEMORY_BUDGET`. Default: none.
   */
  bufferBudget?: BufferBudget;
  /** Milliseconds before a {@link RtmpConnection.call} without a reply fails. Default 30 000; 0 disables. */
  callTimeout?: number;
  /** Grace period (ms) after a graceful close before the socket is destroyed. Default 2 000. */
  closeTimeout?: number;
}

/** A decoded command (message type 20, or 17 for its AMF3 form). */
export interface RtmpCommand {
  /** Command name, e.g. `connect`, `publish`. */
  name: string;
  /** Transaction id (0 when the command expects no reply). */
  transactionId: number;
  /** The command object (often `null`). */
  commandObject: AmfValue;
  /** The values after the command object. */
  args: AmfValue[];
  /** Message stream id the command arrived on. */
  streamId: number;
  /** Message timestamp. */
  timestamp: number;
  /** 20 (AMF0) or 17 (AMF3 form). */
  messageType: number;
}

/** A decoded data message (type 18, or 15 for its AMF3 form), e.g. `@setDataFrame` / `onMetaData`. */
export interface RtmpDataMessage {
  /** The decoded AMF values; the first is usually the handler name. */
  values: AmfValue[];
  streamId: number;
  timestamp: number;
  messageType: number;
  /** The raw payload (a view, not a copy). */
  payload: Uint8Array;
}

/** An `onStatus` notification. */
export interface RtmpStatus {
  streamId: number;
  level: string;
  code: string;
  description: string;
  /** The whole info object as received. */
  info: AmfValue;
}

/** Result of a {@link RtmpConnection.call}: the values after the transaction id of the `_result`. */
export interface RtmpCallResult {
  commandObject: AmfValue;
  args: AmfValue[];
}

/** Events of {@link RtmpConnection}. */
export interface RtmpConnectionEvents {
  /** The handshake completed; commands may flow. */
  ready: [];
  /** Audio, video, shared object or unknown message (aggregates are already split). */
  message: [message: RtmpMessage];
  /** A decoded data message (18/15). */
  data: [data: RtmpDataMessage];
  /** A command that is not a reply to one of our calls and not `onStatus`. */
  command: [command: RtmpCommand];
  /** An `onStatus` notification. */
  status: [status: RtmpStatus];
  /** Protocol or user control message, decoded by `@rtmp/chunk` (pings are answered before this fires). */
  control: [control: ControlMessage];
  /** The socket's write buffer drained. */
  drain: [];
  /** The connection is closed; `error` is undefined for a clean close. Fires exactly once. */
  close: [error: RtmpError | undefined];
}

interface PendingCall {
  resolve: (result: RtmpCallResult) => void;
  reject: (error: RtmpError) => void;
  timer: NodeJS.Timeout | undefined;
}

interface HandshakeDriver {
  push(bytes: Uint8Array): { output: Uint8Array[]; done: boolean; rest: Uint8Array };
  readonly kind?: string | null | undefined;
}

// Write batching: while a batch runs, every socket written to is corked once and uncorked once when the outermost
// batch ends, so all messages of one publisher read leave in one writev per player instead of one per message.
let batchDepth = 0;
// Most withdrawn or fire-and-forget transactions remembered per connection, to drop their late replies.
const MAX_IGNORED = 32;
const batched: RtmpConnection[] = [];

function defaultCsid(type: number): number {
  switch (type) {
    case MessageType.Audio:
      return ChunkStreams.Audio;
    case MessageType.Video:
      return ChunkStreams.Video;
    case MessageType.DataAmf0:
    case MessageType.DataAmf3:
      return ChunkStreams.Data;
    case MessageType.CommandAmf0:
    case MessageType.CommandAmf3:
      return ChunkStreams.Command;
    default:
      return type <= 6 ? ChunkStreams.Control : ChunkStreams.Command;
  }
}

function asString(value: AmfValue | undefined): string {
  return typeof value === 'string' ? value : '';
}

function field(object: AmfValue | undefined, key: string): AmfValue | undefined {
  if (typeof object !== 'object' || object === null || object instanceof Date || Array.isArray(object)) {
    return undefined;
  }
  const record = (object as { properties?: unknown }).properties ?? object;
  return Object.hasOwn(record as object, key) ? (record as Record<string, AmfValue>)[key] : undefined;
}

/**
 * The connection core shared by the server's sessions and `@rtmp/client`: one RTMP connection over a
 * `net.Socket` or `tls.TLSSocket`, in either role.
 *
 * It drives the handshake, owns the chunk decoder/encoder, tracks chunk sizes and acknowledgement
 * windows, acknowledges at the peer's window, answers pings (and sends them to detect dead peers),
 * decodes and encodes commands, keeps command transactions, and writes header/payload slices with
 * `cork()`/`uncork()` so payloads are never concatenated. Nothing in it is server- or client-specific.
 *
 * @example
 * ```ts
 * const conn = new RtmpConnection(socket, { role: 'client' });
 * conn.on('ready', async () => {
 *   const reply = await conn.call('connect', [{ app: 'live', tcUrl: 'rtmp://host/live' }]);
 * });
 * ```
 */
export class RtmpConnection extends EventEmitter<RtmpConnectionEvents> {
  /** The underlying socket. */
  readonly socket: Socket;
  /** The role given at construction. */
  readonly role: RtmpRole;
  /** Bytes received so far (handshake included). */
  bytesIn = 0;
  /** Bytes written so far (handshake included). */
  bytesOut = 0;
  /**
   * AMF encoding of outgoing commands: 0 sends type 20, 3 sends type 17 (AMF3 form). Default 0, which
   * every peer understands.
   */
  commandEncoding: 0 | 3 = 0;

  readonly #options: Required<Omit<RtmpConnectionOptions, 'role' | 'bufferBudget'>>;
  readonly #budget: BufferBudget | undefined;
  readonly #decoder: ChunkDecoder;
  readonly #encoder: ChunkEncoder;
  #handshake: HandshakeDriver | undefined;
  #handshakeKind: string | undefined;
  #ready = false;
  #closed = false;
  #ending = false;
  #closeError: RtmpError | undefined;
  #outChunkSize = 128;
  #inChunkSize = 128;
  #ourWindow = 0;
  #peerWindow = 0;
  #peerBandwidth = 0;
  readonly #ack = new AckCounter();
  #peerAcked = 0;
  #nextTransaction = 1;
  readonly #pending = new Map<number, PendingCall>();
  // Transactions whose replies are dropped (withdrawn calls, sendCall); bounded, oldest forgotten first.
  #ignored: Set<number> | undefined;
  readonly #pings = new Map<
    number,
    { resolve: (rtt: number) => void; reject: (e: RtmpError) => void; sent: number }
  >();
  readonly #startedAt = Date.now();
  #lastReceive = Date.now();
  #pingOutstanding = false;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #keepaliveTimer: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  #batched = false;

  /**
   * Wraps `socket` (already connected, or connecting: writes are buffered by Node). Listeners are
   * attached immediately; in the client role C0+C1 are written at once.
   */
  constructor(socket: Socket, options: RtmpConnectionOptions) {
    super();
    this.socket = socket;
    this.role = options.role;
    this.#options = {
      digest: options.digest ?? true,
      handshakeTimeout: options.handshakeTimeout ?? 10_000,
      idleTimeout: options.idleTimeout ?? 60_000,
      pingInterval: options.pingInterval ?? 0,
      maxMessageSize: options.maxMessageSize ?? 0xffffff,
      maxChunkStreams: options.maxChunkStreams ?? 64,
      callTimeout: options.callTimeout ?? 30_000,
      closeTimeout: options.closeTimeout ?? 2_000,
      maxBufferedBytes: 0,
    };
    const maxMessageLength = Math.min(this.#options.maxMessageSize, 0xffffff);
    this.#options.maxBufferedBytes = options.maxBufferedBytes ?? maxMessageLength + 1024 * 1024;
    const maxBuffered = this.#options.maxBufferedBytes;
    if (!Number.isSafeInteger(maxBuffered) || maxBuffered < 1) {
      throw new RtmpError(
        'ERR_RTMP_INVALID_OPTION',
        `maxBufferedBytes must be a positive integer, got ${maxBuffered}`,
      );
    }
    this.#budget = options.bufferBudget;
    this.#decoder = new ChunkDecoder({
      maxMessageLength,
      maxChunkStreams: this.#options.maxChunkStreams,
      maxBufferedBytes: maxBuffered,
    });
    this.#encoder = new ChunkEncoder();

    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#safeEmit('drain'));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A peer that went away (reset, or closed before reading our last replies) is an ordinary end.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') this.destroy();
      else this.#recordError(toRtmpError(error, 'ERR_RTMP_SOCKET'));
    });
    socket.on('close', () => this.#onClose());

    if (this.role === 'client') {
      const client = new HandshakeClient({ digest: this.#options.digest });
      this.#handshake = client;
      this.#write([client.start()]);
    } else {
      this.#handshake = new HandshakeServer();
    }
    if (this.#options.handshakeTimeout > 0) {
      this.#handshakeTimer = setTimeout(() => {
        this.destroy(new RtmpError('ERR_RTMP_HANDSHAKE_TIMEOUT', 'handshake did not complete in time'));
      }, this.#options.handshakeTimeout);
      this.#handshakeTimer.unref();
    }
    const tick = this.#keepaliveTick();
    if (tick > 0) {
      this.#keepaliveTimer = setInterval(() => this.#keepalive(), tick);
      this.#keepaliveTimer.unref();
    }
    if (socket.destroyed) queueMicrotask(() => this.#onClose());
  }

  /**
   * Starts a write batch: until the matching {@link RtmpConnection.endBatch}, each connection written to keeps
   * its socket corked, and every socket is uncorked once at the end, so the messages written in between leave
   * in one `writev` per connection. Batches nest; only the outermost end flushes. The core batches the
   * dispatch of each socket read itself (a relay fanning one publisher read out to many players gets one
   * syscall per player per read); call these only to batch writes made outside that dispatch, and always
   * pair them (`try`/`finally`), or use {@link RtmpConnection.batch}.
   */
  static beginBatch(): void {
    batchDepth++;
  }

  /** Ends a batch started by {@link RtmpConnection.beginBatch}; the outermost end uncorks every socket once. */
  static endBatch(): void {
    if (batchDepth === 0 || --batchDepth > 0) return;
    // Write errors surface asynchronously, so no listener runs (and no new batch starts) inside this loop.
    for (let i = 0; i < batched.length; i++) {
      const connection = batched[i]!;
      connection.#batched = false;
      connection.socket.uncork();
    }
    batched.length = 0;
  }

  /** Runs `fn` inside a write batch (see {@link RtmpConnection.beginBatch}) and returns its result. */
  static batch<T>(fn: () => T): T {
    RtmpConnection.beginBatch();
    try {
      return fn();
    } finally {
      RtmpConnection.endBatch();
    }
  }

  /** True once the handshake has completed. */
  get ready(): boolean {
    return this.#ready;
  }

  /** True once the socket is closed (or closing). */
  get closed(): boolean {
    return this.#closed || this.#ending;
  }

  /** `'simple'` or `'digest'` once the handshake has completed. */
  get handshakeKind(): string | undefined {
    return this.#handshakeKind;
  }

  /** Chunk size we currently write with. */
  get outChunkSize(): number {
    return this.#outChunkSize;
  }

  /** Chunk size the peer announced (128 until it sends Set Chunk Size). */
  get inChunkSize(): number {
    return this.#inChunkSize;
  }

  /** Acknowledgement window the peer asked for (0 until it sends Window Ack Size). */
  get peerWindowAckSize(): number {
    return this.#peerWindow;
  }

  /** Bandwidth the peer announced with Set Peer Bandwidth (0 until then). */
  get peerBandwidth(): number {
    return this.#peerBandwidth;
  }

  /** Last byte count the peer acknowledged. */
  get peerAcknowledged(): number {
    return this.#peerAcked;
  }

  /** Bytes queued in the socket and not yet handed to the kernel: the connection's backpressure. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** The error the connection closed (or is closing) with, if any. */
  get closeError(): RtmpError | undefined {
    return this.#closeError;
  }

  /**
   * Encodes and writes one message on `csid` (default: by message type). Returns false when closed, and when
   * the socket's buffer is above its high-water mark (backpressure, as `socket.write`; see {@link needDrain}).
   */
  send(message: RtmpMessage, csid: number = defaultCsid(message.type)): boolean {
    if (this.closed) return false;
    return this.#write(this.#encoder.encode(message, csid));
  }

  /**
   * Writes slices produced elsewhere (e.g. a relay's shared `encodeMessage()` output, which starts with
   * a fmt 0 chunk) on `csid`, invalidating the encoder's header state for that chunk stream.
   */
  writeEncoded(slices: readonly Uint8Array[], csid: number): boolean {
    if (this.closed) return false;
    this.#encoder.invalidate(csid);
    return this.#write(slices);
  }

  /** Announces and applies a new outgoing chunk size (Set Chunk Size). */
  setChunkSize(size: number): void {
    if (!Number.isInteger(size) || size < 1 || size > 0x7fffffff) {
      throw new RtmpError('ERR_RTMP_INVALID_OPTION', `invalid chunk size ${size}`);
    }
    if (this.closed) return;
    this.#write(this.#encoder.setChunkSize(size));
    this.#outChunkSize = size;
  }

  /** Sends Window Ack Size: the peer should acknowledge every `size` bytes it receives from us. */
  setWindowAckSize(size: number): void {
    this.#ourWindow = size >>> 0;
    this.#sendControl(encodeWindowAckSize(size));
  }

  /** Sends Set Peer Bandwidth (limit 0 hard, 1 soft, 2 dynamic). */
  setPeerBandwidth(size: number, limit: PeerBandwidthLimit = 2): void {
    this.#sendControl(encodeSetPeerBandwidth(size, limit));
  }

  /** Sends a user control event, e.g. `{ type: 'streamBegin', streamId: 1 }`. */
  sendUserControl(event: UserControlEvent): void {
    this.#sendControl(encodeUserControl(event));
  }

  /** Sends a ping request and resolves with the round trip in ms when the peer answers. */
  ping(): Promise<number> {
    if (this.closed) return Promise.reject(new RtmpError('ERR_RTMP_CLOSED', 'connection is closed'));
    const stamp = (Date.now() - this.#startedAt) >>> 0;
    return new Promise<number>((resolve, reject) => {
      this.#pings.set(stamp, { resolve, reject, sent: Date.now() });
      this.sendUserControl({ type: 'pingRequest', timestamp: stamp });
    });
  }

  /** Sends a command. `args` start with the command object (use `null` when there is none). */
  sendCommand(name: string, transactionId: number, args: readonly AmfValue[], streamId = 0): boolean {
    const type = this.commandEncoding === 3 ? MessageType.CommandAmf3 : MessageType.CommandAmf0;
    const payload = encodeCommandPayload([name, transactionId, ...args], type);
    return this.send({ type, streamId, timestamp: 0, payload }, ChunkStreams.Command);
  }

  /**
   * Calls a remote method and resolves with its `_result` (rejects with `ERR_RTMP_CALL_FAILED` on
   * `_error`, `ERR_RTMP_CALL_TIMEOUT`, `ERR_RTMP_ABORTED` when `signal` aborts, or `ERR_RTMP_CLOSED`).
   * `args` start with the command object. A call that timed out or was aborted is withdrawn: its
   * transaction is forgotten, and a late reply is dropped instead of surfacing as a `command` event.
   *
   * @param options.timeout - ms before the call fails; default the connection's `callTimeout`, 0 disables
   * @param options.signal - aborts (withdraws) the call; the connection stays usable
   */
  call(
    name: string,
    args: readonly AmfValue[],
    options: { streamId?: number; timeout?: number; signal?: AbortSignal } = {},
  ): Promise<RtmpCallResult> {
    if (this.closed) return Promise.reject(new RtmpError('ERR_RTMP_CLOSED', 'connection is closed'));
    const signal = options.signal;
    if (signal?.aborted) {
      return Promise.reject(new RtmpError('ERR_RTMP_ABORTED', `${name} aborted`, { cause: signal.reason }));
    }
    const transactionId = this.#nextTransaction++;
    return new Promise<RtmpCallResult>((resolve, reject) => {
      const timeout = options.timeout ?? this.#options.callTimeout;
      let onAbort: (() => void) | undefined;
      const settle = () => {
        clearTimeout(pending.timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      };
      const withdraw = (error: RtmpError) => {
        if (this.#pending.get(transactionId) !== pending) return;
        this.#pending.delete(transactionId);
        this.#ignore(transactionId);
        settle();
        reject(error);
      };
      const pending: PendingCall = {
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        timer:
          timeout > 0
            ? setTimeout(
                () =>
                  withdraw(
                    new RtmpError('ERR_RTMP_CALL_TIMEOUT', `no reply to ${name} within ${timeout} ms`),
                  ),
                timeout,
              ).unref()
            : undefined,
      };
      if (signal) {
        onAbort = () =>
          withdraw(new RtmpError('ERR_RTMP_ABORTED', `${name} aborted`, { cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.#pending.set(transactionId, pending);
      this.sendCommand(name, transactionId, args, options.streamId ?? 0);
    });
  }

  /**
   * Sends a command with a fresh transaction id and waits for nothing: for commands that many servers never
   * answer (`releaseStream`, `FCPublish`). Nothing stays registered; a reply that does come (`_result` or
   * `_error`) is dropped instead of surfacing as a `command` event. Returns the transaction id used, or
   * -1 when the connection is closed.
   */
  sendCall(name: string, args: readonly AmfValue[], options: { streamId?: number } = {}): number {
    if (this.closed) return -1;
    const transactionId = this.#nextTransaction++;
    this.#ignore(transactionId);
    this.sendCommand(name, transactionId, args, options.streamId ?? 0);
    return transactionId;
  }

  /** True when the socket's buffer is above its high-water mark: wait for `drain` before writing more. */
  get needDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** Answers `command` with `_result` (the values start with the command object). */
  reply(command: Pick<RtmpCommand, 'transactionId' | 'streamId'>, values: readonly AmfValue[]): boolean {
    return this.sendCommand('_result', command.transactionId, values, command.streamId);
  }

  /** Answers `command` with `_error`. */
  replyError(command: Pick<RtmpCommand, 'transactionId' | 'streamId'>, values: readonly AmfValue[]): boolean {
    return this.sendCommand('_error', command.transactionId, values, command.streamId);
  }

  /** Sends `onStatus(0, null, { level, code, description, ...extra })` on `streamId`. */
  sendStatus(
    streamId: number,
    level: 'status' | 'error' | 'warning',
    code: string,
    description: string,
    extra: Record<string, AmfValue> = {},
  ): boolean {
    const info: Record<string, AmfValue> = Object.create(null);
    info.level = level;
    info.code = code;
    info.description = description;
    for (const [key, value] of Object.entries(extra)) info[key] = value;
    return this.sendCommand('onStatus', 0, [null, info], streamId);
  }

  /** Sends an AMF0 data message (type 18) such as `onMetaData` or `|RtmpSampleAccess`. */
  sendData(streamId: number, values: readonly AmfValue[], timestamp = 0): boolean {
    const payload = encodeAmf0(values);
    return this.send({ type: MessageType.DataAmf0, streamId, timestamp, payload });
  }

  /**
   * Graceful close: pending writes are flushed, then the socket is ended; it is destroyed if the peer
   * does not close within `closeTimeout`. `error` is reported by the `close` event.
   */
  close(error?: RtmpError): void {
    if (error) this.#recordError(error, false);
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    this.#stopTimers();
    this.socket.end();
    this.#closeTimer = setTimeout(() => this.socket.destroy(), this.#options.closeTimeout);
    this.#closeTimer.unref();
  }

  /** Immediate close. `error` is reported by the `close` event. */
  destroy(error?: RtmpError): void {
    if (error) this.#recordError(error, false);
    this.#ending = true;
    this.#budget?.release(this);
    this.#stopTimers();
    this.socket.destroy();
  }

  #keepaliveTick(): number {
    const periods = [this.#options.idleTimeout, this.#options.pingInterval].filter((p) => p > 0);
    if (periods.length === 0) return 0;
    return Math.max(50, Math.floor(Math.min(...periods) / 4));
  }

  #keepalive(): void {
    // While the handshake timer runs it alone decides, so a stalled handshake always ends with the same error code.
    if (this.closed || this.#handshakeTimer !== undefined) return;
    const silent = Date.now() - this.#lastReceive;
    const { idleTimeout, pingInterval } = this.#options;
    if (idleTimeout > 0 && silent >= idleTimeout) {
      this.destroy(
        this.#pingOutstanding
          ? new RtmpError('ERR_RTMP_PING_TIMEOUT', `peer did not answer pings for ${silent} ms`)
          : new RtmpError('ERR_RTMP_IDLE_TIMEOUT', `nothing received for ${silent} ms`),
      );
      return;
    }
    if (this.#ready && pingInterval > 0 && silent >= pingInterval && !this.#pingOutstanding) {
      this.#pingOutstanding = true;
      this.ping().then(
        () => {},
        () => {},
      );
    }
  }

  #stopTimers(): void {
    clearTimeout(this.#handshakeTimer);
    clearInterval(this.#keepaliveTimer);
    this.#handshakeTimer = undefined;
    this.#keepaliveTimer = undefined;
  }

  #recordError(error: RtmpError, destroy = true): void {
    this.#closeError ??= error;
    if (destroy && !this.#closed) this.destroy();
  }

  #ignore(transactionId: number): void {
    // Created on first use: most connections (players) never withdraw a call.
    const ignored = (this.#ignored ??= new Set());
    if (ignored.size >= MAX_IGNORED) {
      const oldest = ignored.values().next().value;
      if (oldest !== undefined) ignored.delete(oldest);
    }
    ignored.add(transactionId);
  }

  #sendControl(message: RtmpMessage): void {
    this.send(message, ChunkStreams.Control);
  }

  #write(slices: readonly Uint8Array[]): boolean {
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return false;
    let ok = true;
    if (batchDepth > 0) {
      if (!this.#batched) {
        this.#batched = true;
        socket.cork();
        batched.push(this);
      }
      for (const slice of slices) {
        if (slice.byteLength === 0) continue;
        this.bytesOut += slice.byteLength;
        ok = socket.write(slice);
      }
      return ok;
    }
    if (slices.length === 1) {
      // One contiguous buffer (the relay's shared encodings): cork/uncork would only add bookkeeping.
      const slice = slices[0]!;
      this.bytesOut += slice.byteLength;
      return slice.byteLength === 0 || socket.write(slice);
    }
    socket.cork();
    for (const slice of slices) {
      if (slice.byteLength === 0) continue;
      this.bytesOut += slice.byteLength;
      ok = socket.write(slice);
    }
    socket.uncork();
    return ok;
  }

  #safeEmit<K extends keyof RtmpConnectionEvents>(event: K, ...args: RtmpConnectionEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: RtmpConnectionEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.destroy(toRtmpError(error, 'ERR_RTMP_HANDLER_FAILED', `listener of '${String(event)}' threw`));
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#closed || this.#ending) return;
    this.bytesIn += chunk.byteLength;
    this.#lastReceive = Date.now();
    this.#pingOutstanding = false;
    let bytes: Uint8Array = chunk;
    if (this.#handshake) {
      let result: ReturnType<HandshakeDriver['push']>;
      try {
        result = this.#handshake.push(bytes);
      } catch (error) {
        this.destroy(toRtmpError(error, 'ERR_RTMP_HANDSHAKE_FAILED'));
        return;
      }
      if (result.output.length > 0) this.#write(result.output);
      if (!result.done) return;
      this.#handshakeKind = this.#handshake.kind ?? undefined;
      this.#handshake = undefined;
      this.#ready = true;
      clearTimeout(this.#handshakeTimer);
      this.#handshakeTimer = undefined;
      this.#safeEmit('ready');
      bytes = result.rest;
      if (bytes.byteLength === 0 || this.closed) return;
    }
    this.#onChunkBytes(bytes);
  }

  #onChunkBytes(bytes: Uint8Array): void {
    let messages: RtmpMessage[];
    try {
      messages = this.#decoder.push(bytes);
    } catch (error) {
      const chunkCode = (error as { code?: unknown }).code;
      const code: RtmpErrorCode =
        typeof chunkCode !== 'string'
          ? 'ERR_RTMP_PROTOCOL'
          : /MESSAGE_TOO_LONG|TOO_LARGE/.test(chunkCode)
            ? 'ERR_RTMP_MESSAGE_TOO_LARGE'
            : chunkCode === 'ERR_CHUNK_BUFFER_LIMIT'
              ? 'ERR_RTMP_BUFFER_LIMIT'
              : 'ERR_RTMP_PROTOCOL';
      this.destroy(toRtmpError(error, code));
      return;
    }
    const budget = this.#budget;
    if (budget !== undefined) {
      const victim = budget.set(this, this.#decoder.bufferedBytes);
      if (victim !== undefined) {
        const held = budget.heldBy(victim);
        (victim as RtmpConnection).destroy(
          new RtmpError(
            'ERR_RTMP_MEMORY_BUDGET',
            `incomplete messages of all connections hold more than ${budget.limit} bytes; this one held ${held}`,
          ),
        );
        if (victim === this) return;
      }
    }
    this.#ack.add(bytes.byteLength);
    // A read with one message (a realtime publisher sends one frame at a time) writes at most once per player:
    // corking would only add bookkeeping to every one of those writes.
    const batch = messages.length > 1;
    if (batch) RtmpConnection.beginBatch();
    try {
      for (const message of messages) {
        if (this.closed) return;
        this.#dispatch(message);
      }
      if (this.#ack.due && !this.closed) this.#sendControl(encodeAcknowledgement(this.#ack.acknowledge()));
    } finally {
      if (batch) RtmpConnection.endBatch();
    }
  }

  #dispatch(message: RtmpMessage): void {
    switch (message.type) {
      case MessageType.SetChunkSize:
      case MessageType.Abort:
      case MessageType.Acknowledgement:
      case MessageType.UserControl:
      case MessageType.WindowAckSize:
      case MessageType.SetPeerBandwidth:
        this.#onControl(message);
        return;
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        this.#onCommand(message);
        return;
      case MessageType.DataAmf0:
      case MessageType.DataAmf3: {
        let values: AmfValue[];
        try {
          values = decodeCommandPayload(message.payload, message.type);
        } catch (error) {
          this.destroy(toRtmpError(error, 'ERR_RTMP_MALFORMED_COMMAND', 'malformed data message'));
          return;
        }
        this.#safeEmit('data', {
          values,
          streamId: message.streamId,
          timestamp: message.timestamp,
          messageType: message.type,
          payload: message.payload,
        });
        return;
      }
      case MessageType.Aggregate:
        for (const sub of splitAggregate(message)) {
          if (this.closed) return;
          this.#dispatch(sub);
        }
        return;
      default:
        this.#safeEmit('message', message);
    }
  }

  #onControl(message: RtmpMessage): void {
    let control: ControlMessage | null;
    try {
      control = decodeControlMessage(message);
    } catch (error) {
      this.destroy(toRtmpError(error, 'ERR_RTMP_PROTOCOL'));
      return;
    }
    if (!control) return;
    switch (control.type) {
      case 'setChunkSize':
        this.#inChunkSize = control.chunkSize;
        break;
      case 'acknowledgement':
        this.#peerAcked = control.sequenceNumber;
        break;
      case 'windowAckSize':
        this.#peerWindow = control.size;
        this.#ack.setWindowSize(control.size);
        break;
      case 'setPeerBandwidth':
        this.#peerBandwidth = control.windowSize;
        // The spec asks the receiver to answer with its own Window Ack Size when the window changes.
        if (control.windowSize !== this.#ourWindow) this.setWindowAckSize(control.windowSize);
        break;
      case 'userControl': {
        const event = control.event;
        if (event.type === 'pingRequest') {
          this.sendUserControl({ type: 'pingResponse', timestamp: event.timestamp });
        } else if (event.type === 'pingResponse') {
          const ping = this.#pings.get(event.timestamp);
          if (ping) {
            this.#pings.delete(event.timestamp);
            ping.resolve(Date.now() - ping.sent);
          }
        }
        break;
      }
      default:
        break;
    }
    this.#safeEmit('control', control);
  }

  #onCommand(message: RtmpMessage): void {
    let values: AmfValue[];
    try {
      values = decodeCommandPayload(message.payload, message.type);
    } catch (error) {
      this.destroy(toRtmpError(error, 'ERR_RTMP_MALFORMED_COMMAND', 'malformed command'));
      return;
    }
    const [name, transaction, commandObject = null, ...args] = values;
    if (typeof name !== 'string') {
      this.destroy(new RtmpError('ERR_RTMP_MALFORMED_COMMAND', 'command name is not a string'));
      return;
    }
    const transactionId = typeof transaction === 'number' && Number.isFinite(transaction) ? transaction : 0;
    if ((name === '_result' || name === '_error') && this.#pending.has(transactionId)) {
      const pending = this.#pending.get(transactionId)!;
      this.#pending.delete(transactionId);
      clearTimeout(pending.timer);
      if (name === '_result') pending.resolve({ commandObject, args });
      else {
        const info = args[0];
        pending.reject(
          new RtmpError(
            'ERR_RTMP_CALL_FAILED',
            `call failed: ${asString(field(info, 'code')) || 'error'} ${asString(field(info, 'description'))}`.trim(),
            { detail: info },
          ),
        );
      }
      return;
    }
    if ((name === '_result' || name === '_error') && this.#ignored?.delete(transactionId)) return;
    if (name === 'onStatus') {
      const info = args[0] ?? null;
      this.#safeEmit('status', {
        streamId: message.streamId,
        level: asString(field(info, 'level')),
        code: asString(field(info, 'code')),
        description: asString(field(info, 'description')),
        info,
      });
      return;
    }
    this.#safeEmit('command', {
      name,
      transactionId,
      commandObject,
      args,
      streamId: message.streamId,
      timestamp: message.timestamp,
      messageType: message.type,
    });
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#budget?.release(this);
    this.#stopTimers();
    clearTimeout(this.#closeTimer);
    const error = this.#closeError;
    const closedError = new RtmpError('ERR_RTMP_CLOSED', 'connection closed', { cause: error });
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(closedError);
    }
    this.#pending.clear();
    for (const ping of this.#pings.values()) ping.reject(closedError);
    this.#pings.clear();
    try {
      this.emit('close', error);
    } catch {
      // A throwing close listener must not take the process down; there is nothing left to close.
    }
  }
}
