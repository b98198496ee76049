// The Thomas write rule as a pure function: which writes of an APPLY reach storage.
// Replicas that apply the same set of APPLYs in any order end in the same state, because
// each key keeps the write with the largest timestamp; and a repeated APPLY is a no-op.
import type { Entry, Write } from '../protocol/schemas.js';
import { TIMESTAMP_ZERO, isBefore, type Timestamp } from '../timestamp/timestamp.js';

/**
 * A write with timestamp `ts` replaces what is stored only if the stored version is strictly
 * older. An equal version means this very transaction's write is already there (a repeated
 * APPLY), so skipping it keeps the APPLY idempotent.
 */
export function shouldWrite(storedVersion: Timestamp, ts: Timestamp): boolean {
  return isBefore(storedVersion, ts);
}

/** A key and the entry to store for it: the version is the APPLY's timestamp; no value is a tombstone. */
export interface PlannedPut {
  key: string;
  entry: Entry;
}

/** The distinct keys of an APPLY's writes, in first-appearance order: the versions to look up before planning. */
export function writtenKeys(writes: readonly Write[]): string[] {
  return [...new Set(writes.map((write) => write.key))];
}

/**
 * Plans one APPLY. `storedVersions` maps each key of `writtenKeys(writes)` to the version now
 * stored; a key not in the map was never written (version zero). Returns the puts to make
 * in one atomic batch, in the order the keys first appear.
 *
 * A transaction's write set names each key once; should a key appear twice, the later write
 * wins, as it would inside the transaction.
 */
export function planApply(ts: Timestamp, writes: readonly Write[], storedVersions: ReadonlyMap<string, Timestamp>): PlannedPut[] {
  const lastWrites = new Map<string, Write>();
  for (const write of writes) lastWrites.set(write.key, write);
  const puts: PlannedPut[] = [];
  for (const key of writtenKeys(writes)) {
    const write = lastWrites.get(key)!;
    if (!shouldWrite(storedVersions.get(key) ?? TIMESTAMP_ZERO, ts)) continue;
    const entry: Entry = { version: [ts[0], ts[1]] };
    if (write.value !== undefined) entry.value = write.value;
    puts.push({ key, entry });
  }
  return puts;
}
