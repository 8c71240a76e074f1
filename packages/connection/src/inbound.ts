import { type AmfValue, amfProperty, decodeCommandPayload } from '@rtmp/amf';
import {
  AckCounter,
  ChunkDecoder,
  type ControlMessage,
  decodeControlMessage,
  encodeAcknowledgement,
  MessageType,
  type RtmpMessage,
  splitAggregate,
  type UserControlEvent,
} from '@rtmp/chunk';
import { batchWrites } from './batch.js';
import type { BufferBudget } from './budget.js';
import { amfText, type CallTable } from './calls.js';
import { ChunkStreams } from './control.js';
import { chunkErrorCode, RtmpError, toRtmpError } from './errors.js';
import type { ResolvedConnectionOptions } from './options.js';
import type { RtmpConnectionEvents } from './types.js';

/**
 * What the inbound side needs of its connection: public members of `RtmpConnection` only. The connection passes
 * itself (no wrapper), so each event a message produces is still one direct `emit` on the connection.
 */
export interface InboundHost {
  /** True once the connection is closed or closing: dispatch stops there. */
  readonly closed: boolean;
  /** Emits one of the connection's events. */
  emit<K extends keyof RtmpConnectionEvents>(event: K, ...args: RtmpConnectionEvents[K]): boolean;
  /** Ends the connection with `error` (a malformed message, the budget). */
  destroy(error: RtmpError): void;
  /** Sends a message (the acknowledgements). */
  send(message: RtmpMessage, csid?: number): boolean;
  /** Sends a user control event (ping responses). */
  sendUserControl(event: UserControlEvent): void;
  /** Sends Window Ack Size (the answer to a changed Set Peer Bandwidth). */
  setWindowAckSize(size: number): void;
}

/** The decoder limits of the inbound side (the connection's resolved options). */
export type InboundLimits = Pick<
  ResolvedConnectionOptions,
  'maxMessageSize' | 'maxChunkStreams' | 'maxBufferedBytes'
>;

/** What the inbound side shares with its connection. */
export interface InboundParts {
  /** The budget incomplete messages are charged to, if any. */
  bufferBudget: BufferBudget | undefined;
  /** The connection's transactions: replies and ping responses settle them. */
  calls: CallTable;
  /** A listener threw `exception`: the connection decides where the failure is reported. */
  listenerFailed: (event: keyof RtmpConnectionEvents, exception: unknown) => void;
  /** The reads pushed are reused once `push` returns (a shared read buffer): the decoder copies what it keeps. */
  transientInput: boolean;
}

/**
 * The inbound side of a connection once the handshake is done: decodes the chunk stream, charges the buffer budget,
 * acknowledges at the peer's window, applies protocol control messages (chunk size, windows, pings), settles call
 * replies, and turns the rest into the connection's `control`, `command`, `status`, `data` and `message` events.
 * Aggregates are split here, so listeners see their sub-messages one by one.
 */
export class Inbound {
  /** Chunk size the peer announced. */
  chunkSize = 128;
  /** Acknowledgement window the peer asked for (Window Ack Size). */
  peerWindow = 0;
  /** Bandwidth the peer announced (Set Peer Bandwidth). */
  peerBandwidth = 0;
  /** Last byte count the peer acknowledged. */
  peerAcknowledged = 0;
  /** The window we asked the peer for (kept by `setWindowAckSize`): Set Peer Bandwidth is answered when it differs. */
  ourWindow = 0;

  readonly #host: InboundHost;
  readonly #decoder: ChunkDecoder;
  readonly #ack = new AckCounter();
  readonly #budget: BufferBudget | undefined;
  /** What the budget was last told this connection holds. */
  #charged = 0;
  readonly #calls: CallTable;
  readonly #listenerFailed: InboundParts['listenerFailed'];

  constructor(host: InboundHost, limits: InboundLimits, parts: InboundParts) {
    this.#host = host;
    this.#decoder = new ChunkDecoder({
      maxMessageLength: limits.maxMessageSize,
      maxChunkStreams: limits.maxChunkStreams,
      maxBufferedBytes: limits.maxBufferedBytes,
      transientInput: parts.transientInput,
    });
    this.#budget = parts.bufferBudget;
    this.#calls = parts.calls;
    this.#listenerFailed = parts.listenerFailed;
  }

  /** Takes one socket read of the chunk stream and dispatches every message it completes. */
  push(bytes: Uint8Array): void {
    const host = this.#host;
    let messages: RtmpMessage[];
    try {
      messages = this.#decoder.push(bytes);
    } catch (error) {
      host.destroy(toRtmpError(error, chunkErrorCode(error)));
      return;
    }
    const budget = this.#budget;
    const held = this.#decoder.bufferedBytes;
    // An unchanged charge (the usual case: every message of the read complete, nothing held before or after) needs
    // no update unless the budget is over its limit.
    if (budget !== undefined && (held !== this.#charged || budget.total > budget.limit)) {
      this.#charged = held;
      const victim = budget.set(host, held);
      if (victim !== undefined) {
        const held = budget.heldBy(victim);
        victim.destroy(
          new RtmpError(
            'ERR_RTMP_MEMORY_BUDGET',
            `incomplete messages of all connections hold more than ${budget.limit} bytes; this one held ${held}`,
          ),
        );
        if (victim === host) return;
      }
    }
    this.#ack.add(bytes.byteLength);
    // A read with one message (a realtime publisher sends one frame at a time) writes at most once per player:
    // corking would only add bookkeeping to every one of those writes.
    if (messages.length > 1) batchWrites(() => this.#dispatchAll(messages));
    else this.#dispatchAll(messages);
  }

  #emit<K extends keyof RtmpConnectionEvents>(event: K, ...args: RtmpConnectionEvents[K]): void {
    try {
      this.#host.emit(event, ...args);
    } catch (exception) {
      this.#listenerFailed(event, exception);
    }
  }

  #dispatchAll(messages: readonly RtmpMessage[]): void {
    const host = this.#host;
    for (const message of messages) {
      if (host.closed) return;
      this.#dispatch(message);
    }
    if (this.#ack.due && !host.closed) {
      host.send(encodeAcknowledgement(this.#ack.acknowledge()), ChunkStreams.Control);
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
      case MessageType.DataAmf3:
        this.#onData(message);
        return;
      case MessageType.Aggregate:
        for (const sub of splitAggregate(message)) {
          if (this.#host.closed) return;
          this.#dispatch(sub);
        }
        return;
      default:
        this.#emit('message', message);
    }
  }

  #onControl(message: RtmpMessage): void {
    let control: ControlMessage | null;
    try {
      control = decodeControlMessage(message);
    } catch (error) {
      this.#host.destroy(toRtmpError(error, 'ERR_RTMP_PROTOCOL'));
      return;
    }
    if (!control) return;
    switch (control.type) {
      case 'setChunkSize':
        this.chunkSize = control.chunkSize;
        break;
      case 'acknowledgement':
        this.peerAcknowledged = control.sequenceNumber;
        break;
      case 'windowAckSize':
        this.peerWindow = control.size;
        this.#ack.setWindowSize(control.size);
        break;
      case 'setPeerBandwidth':
        this.peerBandwidth = control.windowSize;
        // The spec asks the receiver to answer with its own Window Ack Size when the window changes.
        if (control.windowSize !== this.ourWindow) this.#host.setWindowAckSize(control.windowSize);
        break;
      case 'userControl': {
        const event = control.event;
        if (event.type === 'pingRequest') {
          this.#host.sendUserControl({ type: 'pingResponse', timestamp: event.timestamp });
        } else if (event.type === 'pingResponse') {
          this.#calls.pong(event.timestamp);
        }
        break;
      }
      default:
        break;
    }
    this.#emit('control', control);
  }

  #onCommand(message: RtmpMessage): void {
    let values: AmfValue[];
    try {
      values = decodeCommandPayload(message.payload, message.type);
    } catch (error) {
      this.#host.destroy(toRtmpError(error, 'ERR_RTMP_MALFORMED_COMMAND', 'malformed command'));
      return;
    }
    const [name, transaction, commandObject = null, ...args] = values;
    if (typeof name !== 'string') {
      this.#host.destroy(new RtmpError('ERR_RTMP_MALFORMED_COMMAND', 'command name is not a string'));
      return;
    }
    const transactionId = typeof transaction === 'number' && Number.isFinite(transaction) ? transaction : 0;
    if (
      (name === '_result' || name === '_error') &&
      this.#calls.settle(name, transactionId, commandObject, args)
    ) {
      return;
    }
    if (name === 'onStatus') {
      const info = args[0] ?? null;
      this.#emit('status', {
        streamId: message.streamId,
        level: amfText(amfProperty(info, 'level')),
        code: amfText(amfProperty(info, 'code')),
        description: amfText(amfProperty(info, 'description')),
        info,
      });
      return;
    }
    this.#emit('command', {
      name,
      transactionId,
      commandObject,
      args,
      streamId: message.streamId,
      timestamp: message.timestamp,
      messageType: message.type,
    });
  }

  #onData(message: RtmpMessage): void {
    let values: AmfValue[];
    try {
      values = decodeCommandPayload(message.payload, message.type);
    } catch (error) {
      this.#host.destroy(toRtmpError(error, 'ERR_RTMP_MALFORMED_COMMAND', 'malformed data message'));
      return;
    }
    this.#emit('data', {
      values,
      streamId: message.streamId,
      timestamp: message.timestamp,
      messageType: message.type,
      payload: message.payload,
    });
  }
}
