// MP4 stores decode times (stts) and composition offsets (ctts); mediabunny hands out presentation times in decode
// order and no decode times. FLV needs both (dts as the tag timestamp, pts - dts as the composition time), so decode
// times are rebuilt the way encoders make them: the i-th decode time is the i-th smallest presentation time, moved
// back by the stream's reorder delay. For a file written by x264/x265 (and FFmpeg's mov muxer) that gives back its
// stts exactly: ffprobe's dts of every packet (tested).

/**
 * How far a decode-order look-ahead must reach: a picture can be output at most this many pictures after one
 * decoded later. H.264's max_num_reorder_frames and HEVC's sps_max_num_reorder_pics are at most 16.
 */
export const REORDER_WINDOW = 16;

/**
 * The reorder delay of a track from the presentation times of its first packets, in decode order: the smallest
 * shift that keeps every rebuilt decode time at or before its presentation time. Only positions whose sorted value
 * is certain are used (all of them when `complete`, i.e. the list is the whole track).
 */
export function reorderDelay(pts: readonly number[], complete: boolean, window = REORDER_WINDOW): number {
  const sorted = pts.toSorted((a, b) => a - b);
  const certain = complete ? pts.length : pts.length - window;
  let delay = 0;
  for (let i = 0; i < certain; i++) delay = Math.max(delay, sorted[i]! - pts[i]!);
  return delay;
}

/** A sample whose decode time is being rebuilt. */
export interface TimedSample {
  /** Presentation time (track ticks). */
  readonly pts: number;
}

/**
 * Rebuilds decode times for samples pushed in decode order, holding at most `window` + 1 of them: a sample leaves
 * once `window` later ones have arrived (or at {@link end}), with `dts` = the smallest presentation time still
 * pending minus `delay`. The result never decreases and never passes the sample's own presentation time (a file
 * that reorders deeper than `window` or than the measured delay gets the nearest valid value).
 */
export class DecodeTimeline<T extends TimedSample> {
  readonly #delay: number;
  readonly #window: number;
  readonly #pending: T[] = [];
  /** Presentation times of the pending samples, sorted (one per sample, though not each its own sample's). */
  readonly #times: number[] = [];
  #lastDts = Number.NEGATIVE_INFINITY;

  constructor(delay: number, window = REORDER_WINDOW) {
    this.#delay = delay;
    this.#window = window;
  }

  /** Samples held. */
  get size(): number {
    return this.#pending.length;
  }

  /** Adds the next sample in decode order; returns the one that left, with its decode time, if any. */
  push(sample: T): { sample: T; dts: number } | undefined {
    this.#pending.push(sample);
    const times = this.#times;
    let i = times.length;
    while (i > 0 && times[i - 1]! > sample.pts) i--;
    times.splice(i, 0, sample.pts);
    return this.#pending.length > this.#window ? this.#take() : undefined;
  }

  /** The next sample at the end of the track (call until undefined). */
  end(): { sample: T; dts: number } | undefined {
    return this.#pending.length > 0 ? this.#take() : undefined;
  }

  #take(): { sample: T; dts: number } {
    const sample = this.#pending.shift()!;
    const smallest = this.#times.shift()!;
    const dts = Math.max(this.#lastDts, Math.min(smallest - this.#delay, sample.pts));
    this.#lastDts = dts;
    return { sample, dts };
  }
}

/** Ticks of a `timescale` to milliseconds, rounded half away from zero (as FFmpeg's av_rescale). */
export function ticksToMs(ticks: number, timescale: number): number {
  const ms = (ticks * 1000) / timescale;
  return ms < 0 ? -Math.round(-ms) : Math.round(ms);
}
