import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { LiveRelay } from '@rtmp/server';
import { HlsError } from './errors.js';
import { type HlsResponse, HlsStream, type HlsStreamOptions } from './stream.js';

/** When streams are muxed: from the first playlist request (default), from their publish, or never. */
export type HlsMode = 'on-demand' | 'always' | 'off';

/** The modes of {@link HlsService}, as `--hls` takes them. */
export const HLS_MODES: readonly HlsMode[] = ['on-demand', 'always', 'off'];

/** Options of {@link HlsService}. */
export interface HlsServiceOptions extends Omit<HlsStreamOptions, 'id' | 'directory' | 'listener'> {
  /** The relay whose streams are served. */
  relay: LiveRelay;
  /** Default `'on-demand'`: a stream is muxed from its first playlist request until `idleTimeout` after the last. */
  mode?: HlsMode;
  /** Seconds without a request after which an on-demand muxer stops, and an ended stream is forgotten (default 30). */
  idleTimeout?: number;
  /** Longest wait of a first playlist request for the first segment, in seconds (default 15). */
  firstSegmentTimeout?: number;
  /** Also write each stream's files under `<directory>/<app>/<key>/` (a plain playlist any web server can serve). */
  directory?: string;
  /** `Access-Control-Allow-Origin` of every answer (default `*`). */
  corsOrigin?: string;
  /** The relay key of `/<app>/<name>/` (default `<app>/<name>`, the relay's `scope: 'app'`). */
  keyFor?: (app: string, name: string) => string;
  /**
   * Whether a playlist request may start or watch a stream (an app list, a key check, a token in the query);
   * default: any. Asked for playlist requests only: players request segments and parts without the playlist's
   * query.
   */
  allow?: (app: string, name: string, request: IncomingMessage | null) => boolean | Promise<boolean>;
}

/** What {@link HlsService.stats} reports. */
export interface HlsServiceStats {
  /** Streams being muxed (or ended and kept until idle). */
  streams: number;
  /** Bytes of segments, parts and init segments held in memory. */
  bytes: number;
  /** Complete segments retained. */
  segments: number;
  /** Requests held (blocking playlist reloads, preload-hinted parts). */
  waiting: number;
  /** Requests answered since start, by kind. */
  requests: { playlist: number; segment: number; part: number; init: number; error: number };
  /** Muxers started since start. */
  started: number;
}

interface Entry {
  key: string;
  stream: HlsStream;
  /** When the last request arrived or was answered. */
  lastRequest: number;
  /** Requests still waiting (a first segment, a blocking reload, a hinted part): the stream is not idle. */
  waiting: number;
  endedAt: number | null;
}

const PART = /^([A-Za-z0-9._~-]{1,128})$/;
const PLAYLIST = 'index.m3u8';

function validName(segment: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return null;
  }
  return PART.test(decoded) && decoded !== '.' && decoded !== '..' ? decoded : null;
}

/** A relay key as a relative folder path: letters, digits and `._~-` kept, anything else `_`; never `.` or `..`. */
function folderOf(key: string): string[] {
  return key.split('/').map((p) => {
    const safe = p.replace(/[^A-Za-z0-9._~-]/g, '_');
    return safe === '' || safe === '.' || safe === '..' ? '_' : safe;
  });
}

function plain(status: number, message: string): HlsResponse {
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    body: `${message}\n`,
  };
}

/**
 * HLS and LL-HLS for every stream of a {@link LiveRelay}, with node-media-server's URL layout:
 * `GET /<app>/<key>/index.m3u8`, and the init segments, segments and parts it lists beside it. Mount it in any
 * Node HTTP server with {@link HlsService.handle}; {@link HlsService.respond} is the same without a socket.
 *
 * On demand (the default) a stream is muxed from its first playlist request, which waits for the first segment,
 * until `idleTimeout` after the last request, so a stream nobody watches over HLS costs nothing; `'always'` muxes
 * every stream from its publish.
 */
export class HlsService {
  readonly mode: HlsMode;
  private readonly options: HlsServiceOptions;
  private readonly relay: LiveRelay;
  private readonly entries = new Map<string, Entry>();
  private readonly idleMs: number;
  private readonly firstSegmentMs: number;
  private readonly cors: string;
  private readonly sweeper: ReturnType<typeof setInterval> | null;
  private readonly counts = { playlist: 0, segment: 0, part: 0, init: 0, error: 0 };
  private started = 0;
  private closed = false;
  private readonly onPublish = (key: string): void => {
    if (this.closed) return;
    this.start(key);
  };

  constructor(options: HlsServiceOptions) {
    this.options = options;
    this.relay = options.relay;
    this.mode = options.mode ?? 'on-demand';
    if (!HLS_MODES.includes(this.mode))
      throw new HlsError(
        'ERR_HLS_INVALID_OPTION',
        `mode "${this.mode}" is not one of ${HLS_MODES.join(', ')}`,
      );
    const idle = options.idleTimeout ?? 30;
    const first = options.firstSegmentTimeout ?? 15;
    for (const [name, value] of [
      ['idleTimeout', idle],
      ['firstSegmentTimeout', first],
    ] as const) {
      if (!Number.isFinite(value) || value <= 0 || value > 86_400)
        throw new HlsError('ERR_HLS_INVALID_OPTION', `${name} ${value} is not in (0, 86400]`);
    }
    this.idleMs = idle * 1000;
    this.firstSegmentMs = first * 1000;
    this.cors = options.corsOrigin ?? '*';
    // Checked once: a bad option fails at start, not at the first request.
    new HlsStream({ ...this.streamOptions(), id: 'check' }).segmenter.end();
    if (this.mode === 'always') {
      this.relay.on('publish', this.onPublish);
      for (const key of this.relay.liveKeys()) this.start(key);
    }
    this.sweeper =
      this.mode === 'off' ? null : setInterval(() => this.sweep(), Math.min(1000, this.idleMs / 2));
    this.sweeper?.unref();
  }

  /** Figures for `/metrics`. */
  stats(): HlsServiceStats {
    let bytes = 0;
    let segments = 0;
    let waiting = 0;
    for (const { stream } of this.entries.values()) {
      bytes += stream.bytes;
      segments += stream.segmenter.segments.length;
      waiting += stream.waiting;
    }
    return {
      streams: this.entries.size,
      bytes,
      segments,
      waiting,
      requests: { ...this.counts },
      started: this.started,
    };
  }

  /** The stream muxed for a relay key, if any. */
  stream(key: string): HlsStream | undefined {
    return this.entries.get(key)?.stream;
  }

  /**
   * Answers a request if its path is an HLS one (`/<app>/<key>/index.m3u8` or a file beside it) and returns true;
   * returns false, without touching `res`, for any other path. With mode `'off'` nothing is handled.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.mode === 'off') return false;
    const url = req.url ?? '/';
    const question = url.indexOf('?');
    const path = question < 0 ? url : url.slice(0, question);
    const parts = path.split('/');
    if (parts.length !== 4 || parts[0] !== '') return false;
    const file = parts[3] ?? '';
    if (file !== PLAYLIST && !/\.(m4s|mp4)$/.test(file)) return false;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': this.cors,
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
        'access-control-max-age': '86400',
      });
      res.end();
      return true;
    }
    const answer =
      method === 'GET' || method === 'HEAD'
        ? this.respond(path, question < 0 ? '' : url.slice(question + 1), req)
        : Promise.resolve({
            ...plain(405, 'method not allowed'),
            headers: { ...plain(405, '').headers, allow: 'GET, HEAD, OPTIONS' },
          });
    answer.then(
      (response) => this.write(res, response, method === 'HEAD'),
      (e: unknown) => this.write(res, plain(500, `internal error: ${String(e)}`), false),
    );
    return true;
  }

  /**
   * The answer to `GET <path>?<query>` without a socket: the playlist (created on demand, waiting for the first
   * segment, held for a blocking reload), an init segment, a segment or a part; 404 for a key that is not live or
   * a file that is not (or no longer) there.
   */
  async respond(path: string, query: string, request: IncomingMessage | null = null): Promise<HlsResponse> {
    const response = await this.answer(path, query, request);
    if (response.status >= 400) this.counts.error++;
    response.headers['access-control-allow-origin'] = this.cors;
    return response;
  }

  private async answer(path: string, query: string, request: IncomingMessage | null): Promise<HlsResponse> {
    if (this.closed || this.mode === 'off') return plain(404, 'HLS is off');
    const [, rawApp = '', rawName = '', file = ''] = path.split('/');
    const app = validName(rawApp);
    const name = validName(rawName);
    if (app === null || name === null) return plain(404, 'no such stream');
    const key = this.options.keyFor?.(app, name) ?? `${app}/${name}`;
    if (file === PLAYLIST) {
      this.counts.playlist++;
      // Authorized at the playlist: players resolve segment URIs without the playlist's query (a token), and the
      // files of a muxer exist only while someone allowed keeps reloading its playlist.
      const allowed = await (this.options.allow?.(app, name, request) ?? true);
      if (!allowed) return plain(403, 'forbidden');
      return this.playlist(key, new URLSearchParams(query));
    }
    const entry = this.entries.get(key);
    if (entry === undefined) return plain(404, 'no such stream');
    const kind = /-init\d+\.mp4$/.test(file) ? 'init' : /-p\d+\.m4s$/.test(file) ? 'part' : 'segment';
    this.counts[kind]++;
    return this.using(entry, () => entry.stream.resource(file));
  }

  /**
   * Runs one request of a stream: the stream is in use from its arrival until its answer, however long it waits,
   * and idle only `idleTimeout` after that.
   */
  private async using(entry: Entry, answer: () => Promise<HlsResponse>): Promise<HlsResponse> {
    entry.lastRequest = Date.now();
    entry.waiting++;
    try {
      return await answer();
    } finally {
      entry.waiting--;
      entry.lastRequest = Date.now();
    }
  }

  private async playlist(key: string, query: URLSearchParams): Promise<HlsResponse> {
    let entry = this.entries.get(key);
    // A stream that ended and was published again gets a new muxer (new file names).
    if (entry?.stream.ended && this.relay.isLive(key)) {
      this.stop(entry);
      entry = undefined;
    }
    if (entry === undefined) {
      if (!this.relay.isLive(key)) return plain(404, 'stream not found (not live)');
      entry = this.start(key);
    }
    const stream = entry.stream;
    return this.using(entry, async () => {
      if (!(await stream.ready(this.firstSegmentMs))) {
        if (stream.segmenter.refused.length > 0 && stream.segmenter.codecs.length === 0) {
          return plain(
            415,
            `ERR_HLS_UNSUPPORTED_CODEC: no codec of this stream can go into HLS (${stream.segmenter.refused.join(', ')})`,
          );
        }
        return {
          ...plain(503, 'no segment yet: the stream has not sent a keyframe'),
          headers: { ...plain(503, '').headers, 'retry-after': '1' },
        };
      }
      return stream.playlist(query);
    });
  }

  /** Starts muxing a key: a new stream subscribed to the relay. */
  private start(key: string): Entry {
    const old = this.entries.get(key);
    if (old !== undefined) this.stop(old);
    const directory =
      this.options.directory === undefined ? undefined : join(this.options.directory, ...folderOf(key));
    const stream = new HlsStream({
      ...this.streamOptions(),
      ...(directory === undefined ? {} : { directory }),
    });
    const entry: Entry = { key, stream, lastRequest: Date.now(), waiting: 0, endedAt: null };
    this.entries.set(key, entry);
    this.started++;
    this.relay.subscribe(key, stream);
    return entry;
  }

  private stop(entry: Entry): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    this.relay.unsubscribe(entry.key, entry.stream);
    void entry.stream.dispose();
  }

  /** Stops on-demand muxers nobody asked for within `idleTimeout`, and forgets ended streams after it. */
  private sweep(): void {
    const now = Date.now();
    for (const entry of this.entries.values()) {
      if (entry.stream.ended) entry.endedAt ??= now;
      const idle = entry.waiting === 0 && now - entry.lastRequest >= this.idleMs;
      const gone = entry.endedAt !== null && now - entry.endedAt >= this.idleMs;
      if ((this.mode === 'on-demand' && idle) || gone) this.stop(entry);
    }
  }

  private streamOptions(): HlsStreamOptions {
    const {
      relay: _relay,
      mode: _mode,
      idleTimeout: _idle,
      firstSegmentTimeout: _first,
      directory: _dir,
      corsOrigin: _cors,
      keyFor: _keyFor,
      allow: _allow,
      ...rest
    } = this.options;
    return rest;
  }

  private write(res: ServerResponse, response: HlsResponse, head: boolean): void {
    if (res.destroyed || res.headersSent) return;
    const headers = { ...response.headers, 'access-control-allow-origin': this.cors };
    const body = response.body;
    if (typeof body === 'string') {
      res.writeHead(response.status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(head ? undefined : body);
    } else if ('file' in body) {
      const file = body.file;
      stat(file).then(
        (info) => {
          if (res.destroyed) return;
          res.writeHead(response.status, { ...headers, 'content-length': String(info.size) });
          if (head) res.end();
          else
            createReadStream(file)
              .on('error', () => res.destroy())
              .pipe(res);
        },
        () => this.write(res, plain(404, 'no such segment'), head),
      );
    } else {
      res.writeHead(response.status, headers);
      if (!head) for (const chunk of body) res.write(chunk);
      res.end();
    }
  }

  /** Stops every muxer (their playlists end) and deletes the files written under `directory`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.relay.off('publish', this.onPublish);
    if (this.sweeper !== null) clearInterval(this.sweeper);
    const entries = [...this.entries.values()];
    for (const entry of entries) {
      this.entries.delete(entry.key);
      this.relay.unsubscribe(entry.key, entry.stream);
    }
    await Promise.all(entries.map((e) => e.stream.dispose()));
  }
}
