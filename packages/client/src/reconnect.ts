import { amfProperty } from '@rtmp/amf';
import type { RtmpStatus } from '@rtmp/connection';

/**
 * An E-RTMP Reconnect Request from the server (`onStatus` code `NetConnection.Connect.ReconnectRequest`): it asks this
 * client to connect again, after its next keyframe when publishing, and then to leave this connection.
 */
export interface RtmpReconnectRequest {
  /** Where to connect: the server's `tcUrl` resolved against this connection's, or this connection's own. */
  tcUrl: string;
  /** `tcUrl` plus this client's stream name (query kept): the `url` for a new {@link RtmpClient}. */
  url: string;
  /** The server's reason, '' when it gave none. */
  description: string;
  /** The status as received. */
  status: RtmpStatus;
}

/** The status code of an E-RTMP reconnect request. */
export const RECONNECT_REQUEST = 'NetConnection.Connect.ReconnectRequest';

/**
 * The request a reconnect status makes, or undefined when it cannot be followed: its `tcUrl` (absolute, or relative
 * to `currentTcUrl` as the spec allows; absent or empty: the current one) is not a string, or not an `rtmp:` or
 * `rtmps:` URL with a host once resolved. `streamName` is the stream the client uses ('' for none).
 */
export function reconnectRequestOf(
  status: RtmpStatus,
  currentTcUrl: string,
  streamName: string,
): RtmpReconnectRequest | undefined {
  const given = amfProperty(status.info, 'tcUrl');
  // A tcUrl that is there but not a string is malformed: the request is not followable.
  if (given !== undefined && given !== null && typeof given !== 'string') return undefined;
  let tcUrl = currentTcUrl;
  if (typeof given === 'string' && given !== '') {
    let resolved: URL;
    try {
      resolved = new URL(given, currentTcUrl);
    } catch {
      // Not a URL, even relative to ours: not followable, reported by the status event only.
      return undefined;
    }
    if ((resolved.protocol !== 'rtmp:' && resolved.protocol !== 'rtmps:') || resolved.hostname === '') {
      return undefined;
    }
    tcUrl = resolved.href.replace(/\/+$/, '');
  }
  return {
    tcUrl,
    url: streamName === '' ? tcUrl : `${tcUrl}/${streamName}`,
    description: status.description,
    status,
  };
}
