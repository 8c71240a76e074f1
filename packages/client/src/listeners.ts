import type { RtmpConnection } from '@rtmp/connection';
import { RtmpClientError } from './errors.js';

/**
 * Calls the listeners of one event of the client or of a player (`emit`) so that an exception thrown by one of them
 * is never lost. While the connection is open it ends the client the way a throwing listener of the connection core
 * does: the connection is destroyed with `ERR_RTMP_HANDLER_FAILED` (cause: the exception), which every `close`
 * event, pending step and send then reports. Once the connection is closed there is nothing left to end: the
 * exception becomes a process warning (an `RtmpClientError` with code `ERR_RTMP_HANDLER_FAILED`, the exception as
 * `cause`), as the connection core does for its own `close` listeners: reported, never lost, and never taking the
 * process down. Returns false when a listener threw.
 */
export function emitGuarded(
  connection: RtmpConnection | undefined,
  event: string,
  emit: () => void,
): boolean {
  try {
    emit();
    return true;
  } catch (error) {
    if (connection !== undefined && !connection.closed) {
      const text = error instanceof Error ? error.message : String(error);
      connection.destroy(
        new RtmpClientError(
          'ERR_RTMP_HANDLER_FAILED',
          'connection',
          `a listener of ${event} threw: ${text}`,
          {
            cause: error,
          },
        ),
      );
    } else {
      const text = error instanceof Error ? error.message : String(error);
      process.emitWarning(
        new RtmpClientError(
          'ERR_RTMP_HANDLER_FAILED',
          'connection',
          `a listener of ${event} threw: ${text}`,
          {
            cause: error,
          },
        ),
      );
    }
    return false;
  }
}
