import { parseScriptData } from '@rtmp/flv-demux';
import type { ClientSession } from '@rtmp/server';
import type { Logger } from '../logger.js';
import type { VodHandle, VodTag } from './source.js';

/** How a {@link VodPlayer} paces a file. */
export interface VodPlayerOptions {
  /**
   * How far ahead of real time media may be sent (ms): a player fills its buffer that much at once, then gets the
   * file at its own pace, as from a live stream.
   */
  readonly leadMs: number;
  readonly log: Logger;
}

/**
 * Plays one file to one play stream of a session, in real time: each media tag is sent when its time comes (minus
 * the lead), counted from the first media tag of the run, and never while the socket holds more than its high-water
 * mark. `seek` starts a new run from the keyframe at or before the position; `pause` holds the run (no tag is
 * dropped: the player resumes where it stopped); at the end of the file the player gets StreamEOF and Play.Stop.
 */
export class VodPlayer {
  readonly #session: ClientSession;
  readonly #streamId: number;
  readonly #handle: VodHandle;
  readonly #options: VodPlayerOptions;
  /** The run in progress: a new one (seek) or a stop makes it leave at its next step. */
  #run = 0;
  #stopped = false;
  #paused = false;
  #pausedAt = 0;
  /** Wakes whatever the run waits for (a pacing delay, a drain, the end of a pause). */
  #wakers = new Set<() => void>();
  /** The run's clock: when its first media tag went, and that tag's timestamp (a pause moves it later). */
  #origin: { timestamp: number; clock: number } | undefined;
  /** ms of media after the first media tag to send (the `play` duration); infinite for -1. */
  #durationMs = Number.POSITIVE_INFINITY;
  /** The chain of runs. */
  #active: Promise<void> = Promise.resolve();
  /** Resolves when the player is stopped and its last run has left. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  constructor(session: ClientSession, streamId: number, handle: VodHandle, options: VodPlayerOptions) {
    this.#session = session;
    this.#streamId = streamId;
    this.#handle = handle;
    this.#options = options;
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  /** Starts playing at `position` ms, for `duration` ms of media (-1: to the end). */
  start(position: number, duration = -1): void {
    if (duration >= 0) this.#durationMs = duration;
    this.#start(position);
  }

  /** Moves to `position` ms: the run in progress ends, a new one sends metadata and headers, then media from there. */
  seek(position: number): void {
    if (this.#stopped) return;
    this.#start(position);
  }

  /** Holds (true) or resumes (false) sending. */
  pause(paused: boolean): void {
    if (this.#stopped || paused === this.#paused) return;
    this.#paused = paused;
    if (paused) this.#pausedAt = performance.now();
    else if (this.#origin !== undefined) this.#origin.clock += performance.now() - this.#pausedAt;
    this.#wake();
  }

  /** Stops for good (the play stopped, the session closed); the file is released once the run has left. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#run++;
    this.#wake();
    void this.#active.then(() => {
      this.#handle.release();
      this.#resolveDone();
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  // Runs follow one another: a new one starts once the previous one (woken by the seek) has left.
  #start(position: number): void {
    const run = ++this.#run;
    this.#wake();
    this.#active = this.#active.then(() =>
      this.#play(run, position).catch((error: unknown) => {
        if (!this.#current(run)) return;
        const code = (error as { code?: string }).code;
        this.#options.log.warn({ err: (error as Error).message, code }, 'vod: the file could not be read');
        this.#session.endPlayback(this.#streamId, 'The file could not be read.');
      }),
    );
  }

  #current(run: number): boolean {
    return run === this.#run && !this.#stopped && !this.#session.closed;
  }

  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = new Set();
    for (const wake of wakers) wake();
  }

  /** Waits `ms` (or until woken); `ms` undefined waits until woken. */
  #sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
      this.#wakers.add(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async #play(run: number, position: number): Promise<void> {
    if (!this.#current(run)) return;
    this.#origin = undefined;
    const { leadMs } = this.#options;
    const connection = this.#session.connection;
    const iterator = this.#handle.source.tags(position)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await iterator.next();
        if (!this.#current(run)) return;
        if (next.done) break;
        const tag = next.value;
        while (this.#paused && this.#current(run)) await this.#sleep();
        if (!this.#current(run)) return;
        if (tag.type === 8 || tag.type === 9) {
          this.#origin ??= { timestamp: tag.timestamp, clock: performance.now() };
          const origin = this.#origin;
          if (tag.timestamp - origin.timestamp > this.#durationMs) break;
          for (;;) {
            const due = origin.clock + (tag.timestamp - origin.timestamp) - leadMs;
            const wait = due - performance.now();
            if (wait <= 1 && !this.#paused) break;
            await this.#sleep(this.#paused ? undefined : wait);
            if (!this.#current(run)) return;
          }
        }
        this.#send(tag);
        if (connection.needDrain) {
          const drained = new Promise<void>((resolve) => connection.once('drain', resolve));
          await Promise.race([drained, this.#sleep()]);
          if (!this.#current(run)) return;
        }
      }
      this.#session.endPlayback(this.#streamId, 'End of file.');
    } finally {
      await iterator.return?.();
    }
  }

  #send(tag: VodTag): void {
    const session = this.#session;
    if (tag.type === 9) session.sendVideo(tag.timestamp, tag.body, this.#streamId);
    else if (tag.type === 8) session.sendAudio(tag.timestamp, tag.body, this.#streamId);
    else if (tag.type === 18) {
      // Script data (onMetaData first, cue points...): as an AMF0 data message, without a @setDataFrame wrapper.
      let script: ReturnType<typeof parseScriptData>;
      try {
        script = parseScriptData(tag.body);
      } catch {
        return;
      }
      session.connection.sendData(this.#streamId, [script.name, ...script.args], tag.timestamp >>> 0);
    }
  }
}
