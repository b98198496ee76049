// Lamport timestamps: the pair (counter, middlewareId), totally ordered by counter, then id.
// A committed transaction's timestamp is the version of every key it writes.

/** [counter, middlewareId]. The tuple form keeps messages and stored values small. */
export type Timestamp = readonly [counter: number, middlewareId: number];

/** The version of a key that was never written. Smaller than every real timestamp. */
export const TIMESTAMP_ZERO: Timestamp = [0, 0];

export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}

export function isBefore(a: Timestamp, b: Timestamp): boolean {
  return compareTimestamps(a, b) < 0;
}

export function timestampsEqual(a: Timestamp, b: Timestamp): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

export function maxTimestamp(a: Timestamp, b: Timestamp): Timestamp {
  return isBefore(a, b) ? b : a;
}

export function formatTimestamp(t: Timestamp): string {
  return `${t[0]}.${t[1]}`;
}
