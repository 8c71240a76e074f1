import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { type AmfValue, encodeAmf0, encodeCommandPayload } from '@rtmp/amf';
import {
  ChunkEncoder,
  encodeSetPeerBandwidth,
  encodeUserControl,
  encodeWindowAckSize,
  MessageType,
  type PeerBandwidthLimit,
  type RtmpMessage,
  type UserControlEvent,
} from '@rtmp/chunk';
import { HandshakeClient, HandshakeServer } from '@rtmp/handshake';
import { type BatchMember, batching, batchWrites, joinBatch } from './batch.js';
import type { BufferBudget } from './budget.js';
import { CallTable } from './calls.js';
import { ChunkStreams, defaultChunkStream } from './control.js';
import { RtmpError, toRtmpError } from './errors.js';
import { Inbound } from './inbound.js';
import { Keepalive } from './keepalive.js';
import {
  type ResolvedConnectionOptions,
  type RtmpConnectionOptions,
  resolveConnectionOptions,
} from './options.js';
import { readIntoSharedBuffer } from './read-buffer.js';
import type { RtmpCallResult, RtmpCommand, RtmpConnectionEvents, RtmpRole } from './types.js';

interface HandshakeDriver {
  push(bytes: Uint8Array): { output: Uint8Array[]; done: boolean; rest: Uint8Array };
  readonly kind?: string | null | undefined;
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

  readonly #options: ResolvedConnectionOptions;
  readonly #budget: BufferBudget | undefined;
  readonly #inbound: Inbound;
  readonly #encoder: ChunkEncoder;
  #handshake: HandshakeDriver | undefined;
  #handshakeKind: string | undefined;
  #ready = false;
  #closed = false;
  #ending = false;
  #closeError: RtmpError | undefined;
  #outChunkSize = 128;
  readonly #calls = new CallTable();
  readonly #startedAt = Date.now();
  readonly #keepalive: Keepalive;
  #closeTimer: NodeJS.Timeout | undefined;
  readonly #batchMember: BatchMember;
  /** Reads arrive in the shared read buffer and are reused once handled (see `sharedReadBuffer`). */
  readonly #transientReads: boolean;

  /**
   * Wraps `socket` (already connected, or connecting: writes are buffered by Node). Listeners are
   * attached immediately; in the client role C0+C1 are written at once.
   */
  constructor(socket: Socket, options: RtmpConnectionOptions) {
    super();
    this.socket = socket;
    this.#batchMember = { socket, inBatch: false };
    this.role = options.role;
    this.#options = resolveConnectionOptions(options);
    this.#budget = options.bufferBudget;
    this.#transientReads =
      options.sharedReadBuffer === true && readIntoSharedBuffer(socket, (bytes) => this.#onData(bytes));
    this.#inbound = new Inbound(this, this.#options, {
      bufferBudget: this.#budget,
      calls: this.#calls,
      listenerFailed: (event, exception) => this.#listenerFailed(event, exception),
      transientInput: this.#transientReads,
    });
    this.#encoder = new ChunkEncoder();

    socket.setNoDelay?.(true);
    if (!this.#transientReads) socket.on('data', (chunk: Buffer) => this.#onData(chunk));
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
    this.#keepalive = new Keepalive(this, this.#options);
    if (socket.destroyed) queueMicrotask(() => this.#onClose());
  }

  /**
   * Runs `fn` inside a write batch and returns its result: until `fn` returns, each connection written to keeps its
   * socket corked, and every socket is uncorked once at the end, so the messages written in between leave in one
   * `writev` per connection. Batches nest; only the outermost one flushes. The core already batches the dispatch of
   * each socket read (a relay fanning one publisher read out to many players gets one syscall per player per read);
   * use this for writes made outside that dispatch.
   */
  static batch<T>(fn: () => T): T {
    return batchWrites(fn);
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
    return this.#inbound.chunkSize;
  }

  /** Acknowledgement window the peer asked for (0 until it sends Window Ack Size). */
  get peerWindowAckSize(): number {
    return this.#inbound.peerWindow;
  }

  /** Bandwidth the peer announced with Set Peer Bandwidth (0 until then). */
  get peerBandwidth(): number {
    return this.#inbound.peerBandwidth;
  }

  /** Last byte count the peer acknowledged. */
  get peerAcknowledged(): number {
    return this.#inbound.peerAcknowledged;
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
  send(message: RtmpMessage, csid: number = defaultChunkStream(message.type)): boolean {
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
    this.#inbound.ourWindow = size >>> 0;
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
    return this.#calls.ping(stamp, () => this.sendUserControl({ type: 'pingRequest', timestamp: stamp }));
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
    return this.#calls.open(
      name,
      { timeout: options.timeout ?? this.#options.callTimeout, signal: options.signal },
      (transactionId) => this.sendCommand(name, transactionId, args, options.streamId ?? 0),
    );
  }

  /**
   * Sends a command with a fresh transaction id and waits for nothing: for commands that many servers never
   * answer (`releaseStream`, `FCPublish`). Nothing stays registered; a reply that does come (`_result` or
   * `_error`) is dropped instead of surfacing as a `command` event. Returns the transaction id used, or
   * -1 when the connection is closed.
   */
  sendCall(name: string, args: readonly AmfValue[], options: { streamId?: number } = {}): number {
    if (this.closed) return -1;
    const transactionId = this.#calls.fireAndForget();
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
    this.#keepalive.stop();
    this.socket.end();
    this.#closeTimer = setTimeout(() => this.socket.destroy(), this.#options.closeTimeout);
    this.#closeTimer.unref();
  }

  /** Immediate close. `error` is reported by the `close` event. */
  destroy(error?: RtmpError): void {
    if (error) this.#recordError(error, false);
    this.#ending = true;
    this.#budget?.release(this);
    this.#keepalive.stop();
    this.socket.destroy();
  }

  #recordError(error: RtmpError, destroy = true): void {
    this.#closeError ??= error;
    if (destroy && !this.#closed) this.destroy();
  }

  #sendControl(message: RtmpMessage): void {
    this.send(message, ChunkStreams.Control);
  }

  #write(slices: readonly Uint8Array[]): boolean {
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return false;
    let ok = true;
    if (batching()) {
      joinBatch(this.#batchMember);
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

  #safeEmit(event: 'ready' | 'drain'): void {
    try {
      this.emit(event);
    } catch (exception) {
      this.#listenerFailed(event, exception);
    }
  }

  /**
   * A listener threw. Its exception ends the connection (`ERR_RTMP_HANDLER_FAILED`, reported by `close`) while that
   * can still report it; once the connection has a close error or has closed, nothing would, so it becomes a process
   * warning instead. Never rethrown (it would surface in a socket callback and take the process down), never dropped.
   */
  #listenerFailed(event: keyof RtmpConnectionEvents, exception: unknown): void {
    if (!this.#closed && this.#closeError === undefined) {
      this.destroy(toRtmpError(exception, 'ERR_RTMP_HANDLER_FAILED', `listener of '${event}' threw`));
      return;
    }
    const detail = exception instanceof Error ? exception.message : String(exception);
    process.emitWarning(
      new RtmpError('ERR_RTMP_HANDLER_FAILED', `listener of '${event}' threw: ${detail}`, {
        cause: exception,
      }),
    );
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closed || this.#ending) return;
    this.bytesIn += chunk.byteLength;
    this.#keepalive.received();
    let bytes: Uint8Array = chunk;
    if (this.#handshake) {
      let result: ReturnType<HandshakeDriver['push']>;
      try {
        // The handshake keeps parts of what it is given (C1 until C2 is checked): a reused read is copied first.
        result = this.#handshake.push(this.#transientReads ? bytes.slice() : bytes);
      } catch (error) {
        this.destroy(toRtmpError(error, 'ERR_RTMP_HANDSHAKE_FAILED'));
        return;
      }
      if (result.output.length > 0) this.#write(result.output);
      if (!result.done) return;
      this.#handshakeKind = this.#handshake.kind ?? undefined;
      this.#handshake = undefined;
      this.#ready = true;
      this.#keepalive.handshakeDone();
      this.#safeEmit('ready');
      bytes = result.rest;
      if (bytes.byteLength === 0 || this.closed) return;
    }
    this.#inbound.push(bytes);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#budget?.release(this);
    this.#keepalive.stop();
    clearTimeout(this.#closeTimer);
    const error = this.#closeError;
    const closedError = new RtmpError('ERR_RTMP_CLOSED', 'connection closed', { cause: error });
    this.#calls.rejectAll(closedError);
    // Each listener is called on its own, so one that throws cannot keep the others (a server's own bookkeeping,
    // say) from learning of the close.
    for (const listener of this.rawListeners('close')) {
      try {
        listener.call(this, error);
      } catch (exception) {
        this.#listenerFailed('close', exception);
      }
    }
  }
}
