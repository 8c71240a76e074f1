import { RestreamError } from './errors.js';

/** How long to wait before each new attempt after a failure: exponential, capped, with random jitter. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. Default 1 000. */
  initialDelay?: number;
  /** Longest delay, in ms. Default 30 000. */
  maxDelay?: number;
  /** Each failed attempt multiplies the delay by this. Default 2. */
  factor?: number;
  /**
   * The part of each delay that is random, 0..1. Default 0.5: a delay d becomes a uniform pick in [d/2, d], so that
   * many pushes broken by one outage do not all come back at the same instant.
   */
  jitter?: number;
  /** Random numbers in [0, 1) (injectable for tests). Default `Math.random`. */
  random?: () => number;
}

/** The defaults of {@link BackoffOptions}. */
export const BACKOFF_DEFAULTS = { initialDelay: 1_000, maxDelay: 30_000, factor: 2, jitter: 0.5 } as const;

/**
 * The delays of a retry loop: `initialDelay * factor^n` capped at `maxDelay`, minus up to `jitter` of it at random.
 * {@link Backoff.reset} after a success starts over.
 */
export class Backoff {
  /** Failed attempts since the last reset. */
  failures = 0;
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;

  /** @throws {@link RestreamError} `ERR_RESTREAM_INVALID_OPTION` for a negative delay, a factor below 1 or a jitter outside 0..1 */
  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialDelay ?? BACKOFF_DEFAULTS.initialDelay;
    this.#max = options.maxDelay ?? BACKOFF_DEFAULTS.maxDelay;
    this.#factor = options.factor ?? BACKOFF_DEFAULTS.factor;
    this.#jitter = options.jitter ?? BACKOFF_DEFAULTS.jitter;
    this.#random = options.random ?? Math.random;
    const finite = (n: number) => typeof n === 'number' && Number.isFinite(n);
    if (!finite(this.#initial) || this.#initial < 0 || !finite(this.#max) || this.#max < this.#initial) {
      throw new RestreamError(
        'ERR_RESTREAM_INVALID_OPTION',
        'backoff delays must satisfy 0 <= initialDelay <= maxDelay',
      );
    }
    if (!finite(this.#factor) || this.#factor < 1) {
      throw new RestreamError('ERR_RESTREAM_INVALID_OPTION', 'backoff factor must be a number >= 1');
    }
    if (!finite(this.#jitter) || this.#jitter < 0 || this.#jitter > 1) {
      throw new RestreamError('ERR_RESTREAM_INVALID_OPTION', 'backoff jitter must be within 0..1');
    }
  }

  /** Counts a failure and returns how long to wait (ms) before the next attempt. */
  next(): number {
    const exponent = Math.min(this.failures, 64);
    this.failures++;
    const ceiling = Math.min(this.#max, this.#initial * this.#factor ** exponent);
    return Math.round(ceiling * (1 - this.#jitter * this.#random()));
  }

  /** After a success: the next failure waits `initialDelay` again. */
  reset(): void {
    this.failures = 0;
  }
}
