import type { RtmpMessage } from '@rtmp/chunk';
import type { RtmpDataMessage, RtmpStatus } from '@rtmp/connection';
import type { RtmpClientError, RtmpServerStatus } from './errors.js';

/**
 * How a client drives one of its streams (a publisher or a player). Not part of the public API: the client gets
 * it together with the stream it creates, and routes what the connection receives for that stream to it.
 */
export interface StreamHandle {
  /** The stream name sent in `publish` or `play`. */
  readonly name: string;
  /** Resolves on Publish.Start / Play.Start, rejects on an error status or a close. */
  started(): Promise<void>;
  /** Withdraws the stream (`FCUnpublish` and `deleteStream` for a publish, `deleteStream` for a play). */
  end(): void;
  /** An audio or video message for this stream. */
  onMessage(message: RtmpMessage): void;
  /** A data message for this stream. */
  onData(data: RtmpDataMessage): void;
  /** An `onStatus` for this stream. */
  onStatus(status: RtmpStatus): void;
  /** An `_error` for this stream. */
  onError(status: RtmpServerStatus): void;
  /** The server's StreamEOF user control event for this stream. */
  onStreamEof(): void;
  /** The socket can take more. */
  onDrain(): void;
  /** The connection closed (`error` for a disconnect or failure). */
  onClose(error: RtmpClientError | undefined): void;
}
