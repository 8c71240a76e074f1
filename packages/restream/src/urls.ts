import { parseRtmpUrl } from '@rtmp/client';
import { RestreamError } from './errors.js';

/**
 * Why `url` is not a complete push or pull target (an `rtmp://` or `rtmps://` URL with a host, an app and a stream
 * name), as an `ERR_RESTREAM_INVALID_OPTION` error; undefined when it is one.
 */
export function invalidStreamUrl(url: string, what = 'target'): RestreamError | undefined {
  let streamName: string;
  try {
    streamName = parseRtmpUrl(url).streamName;
  } catch (error) {
    return new RestreamError(
      'ERR_RESTREAM_INVALID_OPTION',
      `${what} ${redactStreamUrl(url)} is not an rtmp(s) URL`,
      {
        cause: error,
      },
    );
  }
  if (streamName === '' || streamName.startsWith('?')) {
    return new RestreamError(
      'ERR_RESTREAM_INVALID_OPTION',
      `${what} ${redactStreamUrl(url)} has no stream name (rtmp://host/app/<name>)`,
    );
  }
  return undefined;
}

/**
 * `url`, checked to be a complete push or pull target.
 * @throws {@link RestreamError} `ERR_RESTREAM_INVALID_OPTION` otherwise (see {@link invalidStreamUrl})
 */
export function checkStreamUrl(url: string, what = 'target'): string {
  const problem = invalidStreamUrl(url, what);
  if (problem !== undefined) throw problem;
  return url;
}

/**
 * `base` (`rtmp[s]://host[:port]/app`, optionally with a `?query`) with `/<name>` added to its path, the query kept
 * after it: what nginx-rtmp's `push` and `pull` directives do with the name of each stream.
 *
 * @example appendStreamName('rtmp://backup/live?auth=x', 'cam1') === 'rtmp://backup/live/cam1?auth=x'
 */
export function appendStreamName(base: string, name: string): string {
  const q = base.indexOf('?');
  const path = (q < 0 ? base : base.slice(0, q)).replace(/\/+$/, '');
  const query = q < 0 ? '' : base.slice(q);
  return `${path}/${encodeURIComponent(name)}${query}`;
}

/**
 * `url` with its stream name and query replaced by `***` and any user info left out: how targets are shown in logs,
 * APIs and metrics, since a push URL to YouTube or Twitch carries the account's stream key.
 *
 * @example redactStreamUrl('rtmp://a.rtmp.youtube.com/live2/abcd-1234') === 'rtmp://a.rtmp.youtube.com/live2/***'
 */
export function redactStreamUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const scheme = parsed.protocol.replace(/:$/, '');
    const segments = parsed.pathname.split('/').filter((s) => s !== '');
    const app = segments.length > 1 ? segments.slice(0, -1).join('/') : (segments[0] ?? '');
    const hidden = segments.length > 1 || parsed.search !== '' ? '/***' : '';
    return `${scheme}://${parsed.host}/${app}${hidden}`;
  } catch {
    return '***';
  }
}
