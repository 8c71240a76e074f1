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
 * holds: where they come from (`pull`), who watches them, and what `probeOf` (the registry's probe of the pull's
 * media, from the pull's `media` events) found: codecs, resolution, frame rate, bitrate.
 */
export function pulledStreams(
  puller: Puller,
  relay: LiveRelay,
  local: ReadonlySet<string>,
  probeOf: (key: string) => LiveStream | undefined = () => undefined,
): StreamApiEntry[] {
  const entries: StreamApiEntry[] = [];
  for (const pull of puller.pulls()) {
    if (local.has(pull.key) || !relay.isLive(pull.key)) continue;
    const info = pull.info();
    const slash = pull.key.indexOf('/');
    const stats = relay.stats(pull.key);
    const probed = probeOf(pull.key)?.toApi();
    entries.push({
      app: pull.key.slice(0, slash),
      key: pull.key.slice(slash + 1),
      codecs: probed?.codecs ?? [],
      video: probed?.video ?? {
        codec: null,
        width: null,
        height: null,
        fps: null,
        keyframeIntervalMs: null,
        frames: 0,
      },
      audio: probed?.audio ?? { codec: null, sampleRate: null, channels: null, frames: 0 },
      tracks: probed?.tracks ?? [],
      resolution: probed?.resolution ?? null,
      fps: probed?.fps ?? null,
      bitrate: probed?.bitrate ?? 0,
      uptimeSec: info.state === 'live' ? Math.round((Date.now() - Date.parse(info.since)) / 1000) : 0,
      players: stats?.players ?? 0,
      playersByProtocol: { ...stats?.playersByProtocol },
      bytesIn: info.bytesReceived,
      // Not metered for pulled streams (their players' bytes are in the node's totals in /metrics).
      bytesOut: 0,
      droppedFrames: stats?.droppedMessages ?? 0,
      recording: null,
      pull: info,
    });
  }
  return entries;
}
