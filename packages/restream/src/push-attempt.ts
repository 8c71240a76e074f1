import type { RtmpClient, RtmpPublisher } from '@rtmp/client';
import { RtmpConnection, type RtmpError } from '@rtmp/connection';
import { wrapSetDataFrame } from '@rtmp/flv-demux';
import type { RelayItem, RelaySubscriber } from '@rtmp/server';

/** What a push connection needs of the client once published. */
export interface Output {
  readonly client: RtmpClient;
  readonly publisher: RtmpPublisher;
  readonly connection: RtmpConnection;
}

/**
 * One connection attempt of a push, and its relay subscription: a fresh subscription per attempt, so that every
 * connection starts with what a new player gets (metadata, the current configuration of every track, the GOP from
 * its keyframe). Items that arrive while it connects are held (bounded by the relay's slow-consumer policy, since
 * they count in {@link PushAttempt.queuedBytes}) and written once the target said Publish.Start.
 */
export class PushAttempt implements RelaySubscriber {
  readonly protocol = 'push';
  readonly abort = new AbortController();
  output: Output | undefined;
  /**
   * The stream ended while this attempt was connecting: what it holds is still delivered once it published, then
   * it unpublishes (a short stream, or the end of a long one, is not lost to a slow connect).
   */
  draining = false;
  #pending: RelayItem[] = [];
  #pendingBytes = 0;

  constructor(
    private readonly sent: (bytes: number) => void,
    private readonly ended: (attempt: PushAttempt) => void,
    private readonly failed: (attempt: PushAttempt, error: Error) => void,
  ) {}

  send(item: RelayItem): void {
    if (this.output === undefined) {
      this.#pending.push(item);
      this.#pendingBytes += item.message.payload.byteLength;
      return;
    }
    this.#write(this.output, item);
  }

  queuedBytes(): number {
    return this.#pendingBytes + (this.output?.connection.writableLength ?? 0);
  }

  end(): void {
    this.ended(this);
  }

  close(error: RtmpError): void {
    this.failed(this, error);
  }

  /** Published: what was held goes out in one batch, then items are written as they come. */
  go(output: Output): void {
    this.output = output;
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    // One writev for everything held.
    RtmpConnection.batch(() => {
      for (const item of pending) this.#write(output, item);
    });
  }

  /** Media through the relay's shared chunk encoding; metadata wrapped in `@setDataFrame` as publishers send it. */
  #write({ publisher, connection }: Output, item: RelayItem): void {
    if (publisher.ended || connection.closed) return; // the client's close event reports why
    const message = item.message;
    if (message.type === 18) {
      publisher.write(18, message.timestamp, wrapSetDataFrame(message.payload));
    } else {
      connection.writeEncoded(
        item.rtmpChunks(publisher.streamId, connection.outChunkSize),
        item.chunkStreamId,
      );
    }
    this.sent(message.payload.byteLength);
  }

  /** Ends the connection gracefully once what it holds was written (now, or once it has published). */
  drain(): Promise<void> {
    if (this.output !== undefined) return this.finish(true);
    this.draining = true;
    return new Promise((resolve) =>
      this.abort.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  }

  /** Drops what is held and ends the connection: gracefully (FCUnpublish, deleteStream) or at once. */
  finish(graceful: boolean): Promise<void> {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.abort.abort();
    const client = this.output?.client;
    if (client === undefined) return Promise.resolve();
    if (!graceful) {
      client.destroy();
      return Promise.resolve();
    }
    return client.close({ timeout: 5_000 }).catch(() => client.destroy());
  }
}
