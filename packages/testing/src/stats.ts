/**
 * The `p`-th percentile (0..100) of values sorted in ascending order, by nearest rank: the smallest value with at
 * least p % of the values at or below it (p50 of 1..100 is 50, p99 is 99, p100 the largest). NaN when there are no
 * values. The one percentile of the repository's load tool and benchmarks: their p50/p90/p99 figures compare.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
