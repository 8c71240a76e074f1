import type { RelayItem, RelaySubscriber, RtmpError } from '@rtmp/server';
import { HlsDirectory } from './directory.js';
import { HlsError } from './errors.js';
import { blockingSatisfied, type HlsNames, parseBlockingRequest, renderMediaPlaylist } from './playlist.js';
import { type HlsSegment, HlsSegmenter, type HlsSegmenterOptions } from './segmenter.js';

/** An HTTP answer, independent of any server: the status, the headers and the body. */
export interface HlsResponse {
  status: number;
  headers: Record<string, string>;
  /** Text, bytes to write in order, or a file to send (a segment on disk). */
  body: string | readonly Uint8Array[] | { file: string };
}

/** Options of {@link HlsStream}. */
export interface HlsStreamOptions extends HlsSegmenterOptions {
  /** Prefix of the stream's file names, unique per muxer so that segments can be cached as immutable. */
  id?: string;
  /** Also write init segments, segments and a plain playlist to this folder (`--hls-dir`). */
  directory?: string;
  /** Longest hold of a blocking playlist or preload-hint request, in ms (default: three target durations). */
  blockTimeoutMs?: number;
  /**
   * LL-HLS playlists (default true): parts, preload hint, `SERVER-CONTROL`. False serves plain RFC 8216 playlists
   * (segments only), for players that mishandle LL-HLS tags; blocking reload still works.
   */
  lowLatency?: boolean;
}

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const MEDIA_TYPE = 'video/mp4';
/** Resource names carry the muxer's id: a name is never reused for other bytes, so they are immutable. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const NAME = /^([a-z0-9]{1,32})-(init|s|p)(\d{1,15})\.(mp4|m4s)$/;
/** Complete segments whose bytes stay in memory when they are also on disk: the ones whose parts may be listed. */
const KEPT_IN_MEMORY = 3;
const EMPTY = new Uint8Array(0);
/** The playlist's name in the folder, as on the HTTP side. */
const PLAYLIST_FILE = 'index.m3u8';

let instances = 0;

/** A new muxer id: base-36 time and a counter, so that two muxers of one key never share a file name. */
function newId(): string {
  instances = (instances + 1) % 1296;
  return `${Date.now().toString(36)}${instances.toString(36).padStart(2, '0')}`;
}

function text(status: number, message: string): HlsResponse {
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    body: `${message}\n`,
  };
}

interface Waiter {
  check(): boolean;
  resolve(satisfied: boolean): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One stream muxed to HLS: a relay subscriber (`protocol` `'hls'`) that consumes synchronously (so it never falls
 * behind) into a {@link HlsSegmenter}, and answers the requests for its playlist, init segments, segments and parts,
 * holding blocking playlist reloads (`_HLS_msn`, `_HLS_part`) and preload-hinted parts until they exist.
 */
export class HlsStream implements RelaySubscriber {
  readonly protocol = 'hls';
  readonly id: string;
  readonly segmenter: HlsSegmenter;
  readonly names: HlsNames;
  /** Set when the muxer failed (a fragment could not be written) or the relay closed it. */
  failure: Error | null = null;
  /** Why the stream ended (the relay's reason), or null while live. */
  endReason: string | null = null;
  private readonly waiters = new Set<Waiter>();
  private readonly directory: HlsDirectory | null;
  private readonly blockTimeoutMs: number | undefined;
  private readonly lowLatency: boolean;

  constructor(options: HlsStreamOptions = {}) {
    this.id = options.id ?? newId();
    if (!/^[a-z0-9]{1,32}$/.test(this.id))
      throw new HlsError(
        'ERR_HLS_INVALID_OPTION',
        `id "${this.id}" is not 1-32 lowercase letters and digits`,
      );
    this.blockTimeoutMs = options.blockTimeoutMs;
    this.lowLatency = options.lowLatency ?? true;
    this.directory = options.directory === undefined ? null : new HlsDirectory(options.directory);
    const id = this.id;
    this.names = {
      init: (version) => `${id}-init${version}.mp4`,
      segment: (msn) => `${id}-s${msn}.m4s`,
      part: (sequence) => `${id}-p${sequence}.m4s`,
    };
    const directory = this.directory;
    this.segmenter = new HlsSegmenter({
      ...options,
      listener: {
        init: (version, bytes) => directory?.write(this.names.init(version), [bytes]),
        part: () => this.wake(),
        segment: (segment) => {
          if (directory !== null) this.store(directory, segment);
          this.wake();
        },
        evict: (segment) => directory?.remove(this.names.segment(segment.msn)),
      },
    });
  }

  /** Bytes held in memory: retained segments, the segment in progress, init segments. */
  get bytes(): number {
    const { segments, current } = this.segmenter;
    let total = current?.byteLength ?? 0;
    for (const segment of segments) for (const part of segment.parts) total += part.bytes.byteLength;
    return total;
  }

  /** Whether the stream ended (publisher left, failure): the playlist has `#EXT-X-ENDLIST`. */
  get ended(): boolean {
    return this.segmenter.ended;
  }

  /** The folder's write error with `--hls-dir`, if any. */
  get directoryError(): HlsError | null {
    return this.directory?.error ?? null;
  }

  send(item: RelayItem): void {
    const { type, timestamp, payload } = item.message;
    if (type === 8 || type === 9 || type === 18) this.segmenter.push(type, timestamp, payload);
  }

  end(reason: string): void {
    this.endReason = reason;
    this.finish();
  }

  close(error: RtmpError): void {
    this.failure ??= error;
    this.endReason ??= error.code;
    this.finish();
  }

  /** Ends the stream as the relay would (the muxer is being stopped): `#EXT-X-ENDLIST`, waiters released. */
  finish(): void {
    if (this.segmenter.ended) return;
    try {
      this.segmenter.end();
    } catch (e) {
      this.failure ??= e instanceof Error ? e : new Error(String(e));
    }
    // The folder's playlist ends too, so that players of the files stop reloading it.
    this.directory?.replace(
      PLAYLIST_FILE,
      renderMediaPlaylist(this.segmenter, this.names, { lowLatency: false }),
    );
    this.wake();
  }

  /** Resolves when the files queued for the folder (`directory`) are written; at once without one. */
  async flushed(): Promise<void> {
    await this.directory?.flushed();
  }

  /** Deletes the stream's files (with `--hls-dir`) and releases every waiter. */
  async dispose(): Promise<void> {
    this.finish();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(waiter.check());
    }
    this.waiters.clear();
    await this.directory?.removeAll();
  }

  /** Resolves true once the first segment is complete (or the stream ended with one), false after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    const check = () => this.segmenter.segments.length > 0 || this.segmenter.ended;
    await this.wait(check, timeoutMs);
    return this.segmenter.segments.length > 0;
  }

  /**
   * The media playlist for a request's query: at once, or, for a blocking reload (`_HLS_msn`, `_HLS_part`), when
   * the playlist holds that segment or part (503 after the timeout, 400 for a malformed or too distant request).
   */
  async playlist(query: URLSearchParams): Promise<HlsResponse> {
    const request = parseBlockingRequest(query);
    if (request.kind === 'invalid') return text(400, request.reason);
    if (request.kind === 'block') {
      const segmenter = this.segmenter;
      const last =
        segmenter.current !== null && segmenter.current.parts.length > 0
          ? segmenter.liveMsn
          : segmenter.liveMsn - 1;
      // RFC 8216bis 6.2.5.2: more than two segments ahead of the playlist is a client error, not something to wait for.
      if (request.msn > last + 2)
        return text(400, `_HLS_msn ${request.msn} is more than two segments after ${last}`);
      const satisfied = await this.wait(
        () => blockingSatisfied(segmenter, request.msn, request.part),
        this.holdMs(),
      );
      if (!satisfied) return text(503, `segment ${request.msn} part ${request.part ?? '-'} is not there yet`);
    }
    return {
      status: 200,
      headers: { 'content-type': PLAYLIST_TYPE, 'cache-control': 'no-cache' },
      body: renderMediaPlaylist(this.segmenter, this.names, { lowLatency: this.lowLatency }),
    };
  }

  /** An init segment, segment or part by file name (a hinted part is waited for); 404 for anything else. */
  async resource(name: string): Promise<HlsResponse> {
    const match = NAME.exec(name);
    if (match === null || match[1] !== this.id) return text(404, 'no such file (an old or unknown stream)');
    const kind = match[2];
    const number = Number(match[3]);
    const extension = match[4];
    if (kind === 'init') {
      const bytes = extension === 'mp4' ? this.segmenter.init(number) : undefined;
      return bytes === undefined ? text(404, 'no such init segment') : media([bytes]);
    }
    if (extension !== 'm4s') return text(404, 'no such file');
    if (kind === 's') return this.segmentResponse(number);
    const segmenter = this.segmenter;
    // A preload hint names the next part: hold its request until it is written (RFC 8216bis 6.2.6).
    if (
      number >= segmenter.nextPartSequence &&
      number <= segmenter.nextPartSequence + 1 &&
      !segmenter.ended
    ) {
      await this.wait(() => segmenter.part(number) !== undefined || segmenter.ended, this.holdMs());
    }
    const part = segmenter.part(number);
    return part === undefined || part.bytes.byteLength === 0
      ? text(404, 'no such part')
      : media([part.bytes]);
  }

  private segmentResponse(msn: number): HlsResponse {
    const segment = this.segmenter.segment(msn);
    if (segment === undefined) return text(404, 'no such segment');
    const name = this.names.segment(msn);
    if (segment.parts.every((p) => p.bytes.byteLength > 0)) return media(segment.parts.map((p) => p.bytes));
    if (this.directory?.has(name)) {
      return {
        status: 200,
        headers: { 'content-type': MEDIA_TYPE, 'cache-control': IMMUTABLE },
        body: { file: this.directory.path(name) },
      };
    }
    return text(404, 'no such segment');
  }

  /** Three target durations: how long RFC 8216bis lets a server hold a blocking request before a 503. */
  private holdMs(): number {
    return this.blockTimeoutMs ?? 3 * this.segmenter.targetDuration * 1000;
  }

  /** Writes a complete segment to the folder and the plain playlist; releases the memory of older written ones. */
  private store(directory: HlsDirectory, segment: HlsSegment): void {
    const { segmenter, names } = this;
    directory.write(
      names.segment(segment.msn),
      segment.parts.map((p) => p.bytes),
      () => {
        const old = segmenter.segments.slice(0, -KEPT_IN_MEMORY);
        for (const s of old) {
          if (!directory.has(names.segment(s.msn))) continue;
          for (const part of s.parts) part.bytes = EMPTY;
        }
      },
    );
    directory.replace(PLAYLIST_FILE, renderMediaPlaylist(segmenter, names, { lowLatency: false }));
  }

  /** Resolves true as soon as `check()` holds (now, or at a later part), else false after `timeoutMs`. */
  private wait(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check() || this.segmenter.ended) return Promise.resolve(check());
    return new Promise((resolve) => {
      const waiter: Waiter = {
        check,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(check());
        }, timeoutMs),
      };
      waiter.timer.unref?.();
      this.waiters.add(waiter);
    });
  }

  /** Releases the waiters whose condition now holds (all of them once the stream ended). */
  private wake(): void {
    const ended = this.segmenter.ended;
    for (const waiter of this.waiters) {
      const satisfied = waiter.check();
      if (!satisfied && !ended) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve(satisfied);
    }
  }

  /** Requests being held (blocking reloads, hinted parts). */
  get waiting(): number {
    return this.waiters.size;
  }
}

function media(chunks: readonly Uint8Array[]): HlsResponse {
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  return {
    status: 200,
    headers: { 'content-type': MEDIA_TYPE, 'cache-control': IMMUTABLE, 'content-length': String(length) },
    body: chunks,
  };
}
