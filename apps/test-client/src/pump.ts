import type { RtmpPublisher } from '@rtmp/client';
import { sleep } from './common.js';
import type { MediaSource, SourceTag } from './sources.js';

/** Counters of one publishing run. */
export interface PumpStats {
  videoFrames: number;
  audioFrames: number;
  keyframes: number;
  /** Payload bytes sent (tag bodies). */
  bytes: number;
  /** Timestamp of the last tag sent (ms of media). */
  mediaMs: number;
  startedAt: number;
}

/** Zeroed counters, started now. */
export function newPumpStats(): PumpStats {
  return { videoFrames: 0, audioFrames: 0, keyframes: 0, bytes: 0, mediaMs: 0, startedAt: performance.now() };
}

/** Options of {@link pump}. */
export interface PumpOptions {
  /** Pace tags by timestamp (default) or send as fast as the socket takes them. */
  realtime: boolean;
  loop: boolean;
  /** Stop after this much media (ms); Infinity for the source's length. */
  durationMs: number;
  signal?: AbortSignal;
  /** Called just before each tag is written (the load tool stamps send times here). */
  onTag?: (tag: SourceTag, now: number) => void;
  /**
   * Called at each media boundary (a video keyframe; any audio frame while no video was seen): a publisher returned
   * here replaces the current one from this tag on. `prepare` sends it the metadata and sequence headers sent so far
   * (what a new connection needs before media). The reconnect-request switch of `publish`.
   */
  switchAt?: (prepare: (next: RtmpPublisher) => Promise<void>) => Promise<RtmpPublisher | undefined>;
}

/** Sends a source through a publisher with backpressure (each send awaited) and optional real-time pacing. */
export async function pump(
  first: RtmpPublisher,
  source: MediaSource,
  options: PumpOptions,
  stats?: PumpStats,
): Promise<PumpStats> {
  let publisher = first;
  const s = stats ?? newPumpStats();
  s.startedAt = performance.now();
  const start = s.startedAt;
  let origin: number | undefined;
  let sawVideo = false;
  // The latest metadata and sequence header of each kind, in the order they were sent.
  const headers = new Map<string, SourceTag>();
  const send = (p: RtmpPublisher, tag: SourceTag): Promise<void> =>
    tag.metadata ? p.sendMetadata(tag.metadata, tag.timestamp) : p.sendTag(tag.type, tag.timestamp, tag.body);
  for (const tag of source.tags(options.loop)) {
    if (options.signal?.aborted || publisher.ended) break;
    if (tag.type === 9 && !tag.config) sawVideo = true;
    const boundary = !tag.config && (tag.type === 9 ? tag.keyframe : tag.type === 8 && !sawVideo);
    if (boundary && options.switchAt) {
      const next = await options.switchAt(async (p) => {
        for (const header of headers.values()) await send(p, header);
      });
      if (next !== undefined) publisher = next;
    }
    // Pacing and --duration count from the first media tag: files may start at any timestamp.
    if (!tag.config && tag.type !== 18) origin ??= tag.timestamp;
    const relative = origin === undefined ? 0 : Math.max(0, tag.timestamp - origin);
    if (relative > options.durationMs) break;
    if (options.realtime) {
      const wait = start + relative - performance.now();
      if (wait > 1) await sleep(wait, options.signal);
      if (options.signal?.aborted) break;
    }
    options.onTag?.(tag, performance.now());
    if (tag.config) {
      const kind = String(tag.type);
      headers.delete(kind); // re-inserted last: the order they were sent in
      headers.set(kind, tag);
    }
    const sent = send(publisher, tag);
    s.bytes += tag.body.byteLength;
    s.mediaMs = relative;
    if (!tag.config) {
      if (tag.type === 9) {
        s.videoFrames++;
        if (tag.keyframe) s.keyframes++;
      } else if (tag.type === 8) s.audioFrames++;
    }
    await sent;
  }
  return s;
}
