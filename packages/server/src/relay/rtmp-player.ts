import type { RtmpConnection, RtmpError } from '@rtmp/connection';
import type { ClientSession } from '../server/session.js';
import { Subscription } from './subscription.js';
import type { LiveRelayTotals, RelayItem, RelaySubscriber, RtmpPlayerSubscriber } from './types.js';

/**
 * An RTMP player as one kind of subscriber: the fan-out delivers to it exactly as to any other, and it writes the
 * shared chunk encoding of each item to its session's connection on its own play stream id. It is its own
 * subscription record (no second object per player on the delivery path).
 */
export class RtmpPlayer extends Subscription implements RtmpPlayerSubscriber {
  readonly session: ClientSession;
  readonly streamId: number;
  // The session's connection never changes: held here, the per-message calls skip a hop.
  readonly #connection: RtmpConnection;

  constructor(session: ClientSession, streamId: number, maxQueue: number, totals: LiveRelayTotals) {
    super(maxQueue, totals);
    this.session = session;
    this.streamId = streamId;
    this.#connection = session.connection;
  }

  get protocol(): 'rtmp' {
    return 'rtmp';
  }

  get subscriber(): RelaySubscriber {
    return this;
  }

  send(item: RelayItem): void {
    const connection = this.#connection;
    connection.writeEncoded(item.rtmpChunks(this.streamId, connection.outChunkSize), item.chunkStreamId);
  }

  queuedBytes(): number {
    return this.#connection.writableLength;
  }

  wants(type: 8 | 9): boolean {
    return this.session.wants(this.streamId, type);
  }

  /** StreamEOF, NetStream.Play.UnpublishNotify and NetStream.Play.Stop; the connection stays open. */
  end(reason: string): void {
    this.session.endPlayback(this.streamId, reason);
  }

  close(error: RtmpError): void {
    this.session.close(error);
  }
}

/**
 * Whether `subscriber` is one of the relay's RTMP players (what events and stats report for them), and so has its
 * `session` and play `streamId`.
 */
export function isRtmpPlayer(subscriber: RelaySubscriber): subscriber is RtmpPlayerSubscriber {
  return subscriber instanceof RtmpPlayer;
}
