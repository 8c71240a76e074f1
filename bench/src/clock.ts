/**
 * Milliseconds on CLOCK_MONOTONIC (`process.hrtime.bigint()` is libuv's uv_hrtime), which is one system-wide
 * clock: a time taken in the harness and one taken in the probe process can be subtracted. `performance.now()`
 * cannot be used across processes: it counts from each process's own start.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
