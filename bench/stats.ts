// Order statistics for the figures: latency percentiles within a run, and the median and
// spread (min-max) of a metric over the repetitions of a configuration.

/**
 * The nearest-rank percentile of `sortedValues` (ascending): the smallest value such that
 * at least `fraction` of the values are at or below it. Null for no values.
 */
export function percentile(sortedValues: readonly number[], fraction: number): number | null {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`a percentile fraction must be in (0, 1], got ${fraction}`);
  if (sortedValues.length === 0) return null;
  const rank = Math.ceil(fraction * sortedValues.length);
  return sortedValues[Math.min(sortedValues.length, Math.max(1, rank)) - 1]!;
}

/** A sorted copy, in numeric order (a typed array sorts numbers as numbers, not as text). */
export function sortedAscending(values: Iterable<number>): number[] {
  return Array.from(Float64Array.from(values).sort());
}

/** The middle value (the mean of the two middle values for an even count). Null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = sortedAscending(values);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  count: number;
}

/** Median and spread of the values that exist; null when there are none. */
export function summarize(values: readonly (number | null | undefined)[]): Summary | null {
  const present = values.filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
  if (present.length === 0) return null;
  return { median: median(present)!, min: Math.min(...present), max: Math.max(...present), count: present.length };
}

export interface LatencySummaryMs {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  mean: number | null;
  max: number | null;
}

export function latencySummary(latenciesMs: readonly number[]): LatencySummaryMs {
  const sorted = sortedAscending(latenciesMs);
  const count = sorted.length;
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    mean: count === 0 ? null : sorted.reduce((total, value) => total + value, 0) / count,
    max: count === 0 ? null : sorted[count - 1]!,
  };
}
