import { FlvError } from './errors.js';

const WRAP = 2 ** 32;
const HALF = 2 ** 31;

/**
 * Turns the timestamps of one stream, RTMP/FLV's u32 milliseconds that wrap to 0 after 2^32 ms (about 49.7 days),
 * into one monotonic timeline for writing files or computing durations. In arrival order (audio and video of the
 * stream together): a step back of more than 2^31 ms is a wrap, and a step forward of more than 2^31 ms after a wrap
 * is a message from before it, arriving late (serial-number arithmetic, RFC 1982). `StreamDemuxer` events carry
 * the timestamps as received; unwrap `dts` (or `timestamp`) and keep `pts - dts`. `StreamMuxer` and
 * `FlvWriter` take timestamps below 2^32: write `unwrapped % 2 ** 32`.
 */
export class TimestampUnwrapper {
  #epoch = 0;
  #last = -1;

  /**
   * @param timestamp - the next timestamp of the stream, 0..2^32-1
   * @returns it on the unwrapped timeline: `timestamp` plus 2^32 per wrap seen so far
   * @throws {@link FlvError} `ERR_FLV_INVALID_ARGUMENT` when `timestamp` is not an integer in 0..2^32-1
   */
  unwrap(timestamp: number): number {
    if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp >= WRAP) {
      throw new FlvError('ERR_FLV_INVALID_ARGUMENT', `timestamp ${timestamp} outside 0..2^32-1`);
    }
    if (this.#last >= 0) {
      const step = timestamp - this.#last;
      if (step < -HALF) this.#epoch += WRAP;
      else if (step > HALF && this.#epoch > 0) this.#epoch -= WRAP;
    }
    this.#last = timestamp;
    return this.#epoch + timestamp;
  }

  /** Starts a new timeline (e.g. for the next publish of a stream key). */
  reset(): void {
    this.#epoch = 0;
    this.#last = -1;
  }
}
