import type { RtmpConnection, RtmpError } from '@rtmp/connection';
import type { ClientSession } from '../server/session.js';
import type { RelayItem, RelaySubscriber, RtmpPlayerSubscriber } from './types.js';

/**
 * An RTMP player as one kind of subscriber: the relay delivers to it exactly as to any other, and it writes the
 * shared chunk encoding of each item to its session's connection on its own play stream id.
 */
export class RtmpPlayer implements RtmpPlayerSubscriber {
  readonly protocol = 'rtmp';
  readonly session: ClientSession;
  readonly streamId: number;
  // The session's connection never changes: held here, the per-message calls skip a hop.
  readonly #connection: RtmpConnection;

  constructor(session: ClientSession, streamId: number) {
    this.session = session;
    this.streamId = streamId;
    this.#connection = session.connection;
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
