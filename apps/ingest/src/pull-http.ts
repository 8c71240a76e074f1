import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Puller } from '@rtmp/restream';
import type { LiveRelay } from '@rtmp/server';
import type { Authorizer } from './auth.js';
import { type HttpIntercept, parseRequestPath, type StreamApiEntry } from './http.js';
import type { LiveStream } from './streams.js';

/** How long an HLS playlist request waits for the pull it started (at least; `--play-wait` when longer). */
export const HLS_PULL_WAIT_MS = 5_000;

/** The relay key a viewer's request names: `/<app>/<key>.flv` (HTTP-FLV, WS-FLV) or `/<app>/<key>/index.m3u8` (HLS). */
export function viewerKey(segments: readonly string[], apps: readonly string[]): string | undefined {
  const [app = '', name = '', file] = segments;
  if (!apps.includes(app)) return undefined;
  if (segments.length === 2 && name.endsWith('.flv') && name.length > 4) return `${app}/${name.slice(0, -4)}`;
  if (segments.length === 3 && file === 'index.m3u8') return `${app}/${name}`;
  return undefined;
}

/**
 * `--pull` for HLS viewers: the HLS muxer subscribes only to live streams, so a playlist request for a key that is
 * not live here raises no relay demand. This intercept starts the key's pull (when a `--pull` rule covers it) and
 * holds the request until the stream is live or `waitMs` passed, then lets the HLS route answer. HTTP-FLV and
 * WS-FLV viewers need none of this: they subscribe while they wait, and that demand starts the pull.
 */
export function pullForHlsViewers(
  puller: Puller,
  relay: LiveRelay,
  apps: readonly string[],
  covered: (key: string) => boolean,
  auth: Authorizer,
  waitMs: number,
): HttpIntercept {
  return async (req: IncomingMessage, _res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = parseRequestPath(req.url);
    if (path === null || path.segments.at(-1) !== 'index.m3u8') return false;
    const key = viewerKey(path.segments, apps);
    if (key === undefined || relay.isLive(key) || !covered(key)) return false;
    // Only a viewer who may play starts an upstream connection (the HLS route then answers the others 403).
    const slash = key.indexOf('/');
    const decision = await auth.authorize({
      action: 'play',
      app: key.slice(0, slash),
      key: key.slice(slash + 1),
      query: path.query,
      ip: req.socket.remoteAddress ?? '',
    });
    if (!decision.allowed) return false;
    const live = relay.whenLive(key, waitMs);
    puller.pull(key);
    await live;
    return false;
  };
}

/**
 * `/api/streams` entries of the streams pulled here (`--pull`, edge pulls of a cluster) that no local publisher
 * holds: the registry's probe of each live pull (`probeOf`: its media, viewers and bytes) and where the stream comes
 * from (`pull`).
 */
export function pulledStreams(
  puller: Puller,
  relay: LiveRelay,
  local: ReadonlySet<string>,
  probeOf: (key: string) => LiveStream | undefined,
): StreamApiEntry[] {
  const entries: StreamApiEntry[] = [];
  for (const pull of puller.pulls()) {
    // A pull has a probe from the moment it publishes (its `live` event) until it stops.
    const probe = probeOf(pull.key);
    if (probe === undefined || local.has(pull.key) || !relay.isLive(pull.key)) continue;
    entries.push({ ...probe.toApi(), pull: pull.info() });
  }
  return entries;
}
