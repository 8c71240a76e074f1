import { watchDeadline } from '@rtmp/connection';
import { parseScriptData, wrapSetDataFrame } from '@rtmp/flv-demux';
import { RtmpClientError } from './errors.js';
import { type FlvTagInput, isTagType, type TagRole, tagRole } from './headers.js';
import type { RtmpPublisher } from './publisher.js';

/** Counters of a {@link publishFlv} run, updated as it goes. */
export interface PublishFlvStats {
  /** Video frames sent, keyframes included (sequence headers and ends of sequence are not frames). */
  videoFrames: number;
  /** Audio frames sent (sequence headers are not frames). */
  audioFrames: number;
  /** Video keyframes sent. */
  keyframes: number;
  /** Tag body bytes sent, every tag counted. */
  bytes: number;
  /** Milliseconds of media sent: the last tag's timestamp minus the first media tag's. */
  mediaMs: number;
  /** `performance.now()` when the run started. */
  startedAt: number;
}

/** Why a {@link publishFlv} run stopped. */
export type PublishFlvStop =
  /** The tags ran out. */
  | 'end'
  /** The next tag lay beyond `duration`. */
  | 'duration'
  /** The signal aborted. */
  | 'abort'
  /** The publish ended: unpublished, refused or disconnected (the client's `close` event says why). */
  | 'ended';

/** What {@link publishFlv} resolves with: the final counters, the publisher in use at the end, and why it stopped. */
export interface PublishFlvResult extends PublishFlvStats {
  /** The publisher the last tag went to (the first one, unless `switchAt` moved the stream). */
  publisher: RtmpPublisher;
  stoppedBy: PublishFlvStop;
}

/** Options of {@link publishFlv}. */
export interface PublishFlvOptions {
  /**
   * Pace tags by their timestamps, counted from the first audio or video frame (true, the default: a file plays
   * out in its own time), or send them as fast as the server takes them (false). Backpressure is honoured either way.
   */
  realtime?: boolean;
  /** Stop before the first tag more than this many ms of media after the first frame. Default: no limit. */
  duration?: number;
  /** Stops the run (it resolves with `stoppedBy: 'abort'`); a paced wait ends at once. */
  signal?: AbortSignal;
  /** Counters to update as tags go (e.g. read by a progress display); returned in the result too. */
  stats?: PublishFlvStats;
  /** Called just before each tag is written, with what it is. */
  onTag?: (tag: FlvTagInput, role: TagRole) => void;
  /**
   * Called at each point where the stream may move to another publisher: before every video keyframe, and before
   * every audio frame while no video frame has been sent. A publisher it returns takes the stream from that tag on
   * (the reconnect switch: return what {@link RtmpClient.followReconnect} resolves with); undefined goes on as is.
   */
  switchAt?: (publisher: RtmpPublisher) => Promise<RtmpPublisher | undefined> | RtmpPublisher | undefined;
}

/** Zeroed counters, started now. */
export function newPublishFlvStats(): PublishFlvStats {
  return { videoFrames: 0, audioFrames: 0, keyframes: 0, bytes: 0, mediaMs: 0, startedAt: performance.now() };
}

// Publishers send onMetaData wrapped in @setDataFrame (FFmpeg and librtmp do; servers unwrap it): an FLV file's
// script tag does not carry the wrapper.
function scriptPayload(body: Uint8Array): Uint8Array {
  try {
    const script = parseScriptData(body);
    return script.name === 'onMetaData' && !script.setDataFrame ? wrapSetDataFrame(body) : body;
  } catch {
    // Not AMF0 script data we can read: the server may know better, it goes as it is.
    return body;
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => watchDeadline({ timeout: ms, signal }, () => resolve()));
}

/** Resolves when `publisher` can take more, or when `signal` aborts (the caller then stops). */
function drainedOrAborted(publisher: RtmpPublisher, signal: AbortSignal | undefined): Promise<void> {
  const drained = publisher.drained();
  if (signal === undefined) return drained;
  return new Promise((resolve, reject) => {
    const deadline = watchDeadline({ signal }, () => resolve());
    drained.then(
      () => {
        deadline.clear();
        resolve();
      },
      (error: unknown) => {
        deadline.clear();
        reject(error);
      },
    );
  });
}

/**
 * Publishes FLV tags through `publisher`: paced by their timestamps (a live source from a file) or as fast as the
 * server takes them, each write waiting for the socket to drain when it is full, so memory stays at one socket
 * buffer. The tags may come from `FlvReader` (`new FlvReader().push(bytes)`), a generator, or any async iterable;
 * an `onMetaData` script tag gets the `@setDataFrame` wrapper publishers send. Everything sent goes through
 * {@link RtmpPublisher.write}, so the publisher remembers its headers for a reconnect.
 *
 * Resolves when the tags run out, at `duration`, on `signal` (also while it waits for the socket), or when the
 * publish ended; a failed write rejects (an {@link RtmpClientError}).
 *
 * @example
 * ```ts
 * const reader = new FlvReader();
 * const result = await publishFlv(publisher, reader.push(await readFile('video.flv')));
 * console.log(result.videoFrames, result.stoppedBy);
 * ```
 */
export async function publishFlv(
  publisher: RtmpPublisher,
  tags: Iterable<FlvTagInput> | AsyncIterable<FlvTagInput>,
  options: PublishFlvOptions = {},
): Promise<PublishFlvResult> {
  const { realtime = true, duration = Number.POSITIVE_INFINITY, signal, onTag, switchAt } = options;
  if (Number.isNaN(duration) || duration < 0) {
    throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'send', 'duration must be a non-negative number');
  }
  const stats = options.stats ?? newPublishFlvStats();
  stats.startedAt = performance.now();
  let current = publisher;
  let stoppedBy: PublishFlvStop = 'end';
  let origin: number | undefined;
  let sawVideo = false;
  for await (const tag of tags) {
    if (signal?.aborted) {
      stoppedBy = 'abort';
      break;
    }
    if (current.ended) {
      stoppedBy = 'ended';
      break;
    }
    const { type, timestamp, body } = tag;
    if (!isTagType(type)) {
      throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'send', `tag type ${type} is not 8, 9 or 18`);
    }
    const role = tagRole(type, body);
    const frame = role === 'frame' || role === 'keyframe';
    if (switchAt !== undefined && (role === 'keyframe' || (type === 8 && frame && !sawVideo))) {
      current = (await switchAt(current)) ?? current;
    }
    if (type === 9 && frame) sawVideo = true;
    // Pacing and duration count from the first frame: a file may start at any timestamp, and its headers at 0.
    if (frame) origin ??= timestamp;
    const relative = origin === undefined ? 0 : Math.max(0, timestamp - origin);
    if (relative > duration) {
      stoppedBy = 'duration';
      break;
    }
    if (realtime) {
      let wait = stats.startedAt + relative - performance.now();
      while (wait > 1 && !signal?.aborted) {
        // A timer holds at most 2^31-1 ms: a longer gap is waited out in turns.
        await pause(Math.min(wait, 0x7fffffff), signal);
        wait = stats.startedAt + relative - performance.now();
      }
      if (signal?.aborted) {
        stoppedBy = 'abort';
        break;
      }
    }
    onTag?.(tag, role);
    // The publish may have ended during the wait (or in onTag): the end, not a failed write.
    if (current.ended) {
      stoppedBy = 'ended';
      break;
    }
    const payload = type === 18 ? scriptPayload(body) : body;
    const ready = current.write(type, timestamp, payload);
    stats.bytes += payload.byteLength;
    stats.mediaMs = relative;
    if (type === 9 && frame) {
      stats.videoFrames++;
      if (role === 'keyframe') stats.keyframes++;
    } else if (type === 8 && frame) stats.audioFrames++;
    if (!ready) await drainedOrAborted(current, signal);
  }
  return { ...stats, publisher: current, stoppedBy };
}
