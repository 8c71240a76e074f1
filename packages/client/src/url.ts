import { RtmpClientError } from './errors.js';

/** An `rtmp://` or `rtmps://` URL taken apart the way servers expect it. */
export interface RtmpUrl {
  /** `rtmp` or `rtmps`. */
  protocol: 'rtmp' | 'rtmps';
  /** True for `rtmps` (TLS). */
  secure: boolean;
  /** Host name or address (IPv6 without brackets). */
  host: string;
  /** Port: the URL's, else 1935 (rtmp) or 443 (rtmps). */
  port: number;
  /** Application: every path segment but the last (`live`, or `app/instance`). */
  app: string;
  /** Stream name: the last path segment with the query string kept (`key?token=x`); '' when absent. */
  streamName: string;
  /** The `tcUrl` sent in `connect`: scheme, host, port as written, and app. */
  tcUrl: string;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Parses `rtmp[s]://host[:port]/app[/instance]/stream[?query]`. The last path segment is the stream name
 * (its query string kept, since servers read tokens from it); the segments before it form the app.
 * A URL with a single path segment (`rtmp://host/live`) has that segment as app and no stream name.
 *
 * @throws {RtmpClientError} `ERR_RTMP_INVALID_URL` for anything else.
 */
export function parseRtmpUrl(input: string): RtmpUrl {
  let url: URL;
  try {
    url = new URL(input);
  } catch (error) {
    throw new RtmpClientError('ERR_RTMP_INVALID_URL', 'connect', `not a URL: ${input}`, { cause: error });
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  if (scheme !== 'rtmp' && scheme !== 'rtmps') {
    throw new RtmpClientError(
      'ERR_RTMP_INVALID_URL',
      'connect',
      `unsupported scheme ${scheme}: (rtmp or rtmps)`,
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === '') throw new RtmpClientError('ERR_RTMP_INVALID_URL', 'connect', `no host in ${input}`);
  const secure = scheme === 'rtmps';
  const port = url.port === '' ? (secure ? 443 : 1935) : Number(url.port);
  const segments = url.pathname.split('/').filter((s) => s !== '');
  let app: string;
  let streamName: string;
  if (segments.length === 0) {
    throw new RtmpClientError('ERR_RTMP_INVALID_URL', 'connect', `no application in ${input}`);
  } else if (segments.length === 1) {
    app = decode(segments[0] ?? '');
    streamName = '';
  } else {
    app = segments.slice(0, -1).map(decode).join('/');
    streamName = decode(segments.at(-1) ?? '');
  }
  // The query belongs to the stream name (`key?token=x`), as FFmpeg and OBS send it.
  if (url.search !== '') {
    if (streamName === '') app += url.search;
    else streamName += url.search;
  }
  const hostPart = url.port === '' ? url.host : `${url.hostname}:${url.port}`;
  const tcUrl = `${scheme}://${hostPart}/${app}`;
  return { protocol: scheme, secure, host, port, app, streamName, tcUrl };
}
