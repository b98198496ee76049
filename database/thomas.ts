// The Thomas write rule as pure functions: which writes of an APPLY, and of a group of APPLYs
// written as one batch, reach storage. Replicas that apply the same set of APPLYs in any order
// and in any grouping end in the same state, because each key keeps the write with the
// largest timestamp; and a repeated APPLY is a no-op.
import type { Entry } from '../protocol/schemas.js';
import { TIMESTAMP_ZERO, isBefore, type Timestamp } from '../timestamp/timestamp.js';
import type { Key, Write } from '../transaction/types.js';

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
  // A Map keeps a key where it was first set, so iterating it gives the keys in
  // first-appearance order, each with its last write, without a second pass over the writes.
  const lastWrites = new Map<string, Write>();
  for (const write of writes) lastWrites.set(write.key, write);
  const puts: PlannedPut[] = [];
  for (const [key, write] of lastWrites) {
    if (!shouldWrite(storedVersions.get(key) ?? TIMESTAMP_ZERO, ts)) continue;
    const entry: Entry = { version: [ts[0], ts[1]] };
    if (write.value !== undefined) entry.value = write.value;
    puts.push({ key, entry });
  }
  return puts;
}

/** One APPLY of a group: a committed transaction's timestamp and writes. */
export interface GroupApply {
  ts: Timestamp;
  writes: readonly Write[];
}

/** What one group of APPLYs does to storage. */
export interface GroupPlan {
  /** key -> the entry it ends with, for every key the group changes, in the order they were first changed: one batch. */
  finalEntries: Map<Key, Entry>;
  /** How many keys each APPLY of the group wrote, positionally: 0 for a repeated APPLY or one older than every key's version. */
  written: number[];
}

/** The distinct keys a group of APPLYs writes, in first-appearance order: the versions to look up before planning. */
export function groupKeys(applies: readonly GroupApply[]): Key[] {
  const keys = new Set<Key>();
  for (const apply of applies) for (const write of apply.writes) keys.add(write.key);
  return [...keys];
}

/**
 * Plans a group of APPLYs written as one batch with one sync (group commit). `storedVersions`
 * maps each key of `groupKeys(applies)` to the version now stored (a key not in it was never
 * written). Each APPLY is planned against the state the ones before it leave, so the plan is
 * exactly the result of applying them one after another, in the order given: each key's final
 * entry is the last planned put of it, and each APPLY's count is what it alone would write then.
 */
export function planGroup(applies: readonly GroupApply[], storedVersions: ReadonlyMap<Key, Timestamp>): GroupPlan {
  const versions = new Map(storedVersions);
  const finalEntries = new Map<Key, Entry>();
  const written: number[] = [];
  for (const { ts, writes } of applies) {
    const puts = planApply(ts, writes, versions);
    for (const { key, entry } of puts) {
      versions.set(key, entry.version);
      finalEntries.set(key, entry);
    }
    written.push(puts.length);
  }
  return { finalEntries, written };
}

/** An entry recovery copies from another database, with its own version (no value is a tombstone). */
export interface KeyedEntry extends Entry {
  key: Key;
}

/**
 * Plans a recovery's writes: each entry replaces what is stored only if the stored version is
 * strictly older than the entry's own, key by key, as an APPLY of that version would. The
 * entries are committed writes of other databases, so copying them in any order, or twice,
 * converges like APPLYs do. `storedVersions` maps each key to the version now stored (a key
 * not in it was never written); `written` counts the entries that were kept.
 */
export function planRecovery(entries: readonly KeyedEntry[], storedVersions: ReadonlyMap<Key, Timestamp>): { finalEntries: Map<Key, Entry>; written: number } {
  const versions = new Map(storedVersions);
  const finalEntries = new Map<Key, Entry>();
  let written = 0;
  for (const { key, version, value } of entries) {
    if (!shouldWrite(versions.get(key) ?? TIMESTAMP_ZERO, version)) continue;
    const entry: Entry = { version: [version[0], version[1]] };
    if (value !== undefined) entry.value = value;
    versions.set(key, entry.version);
    finalEntries.set(key, entry);
    written += 1;
  }
  return { finalEntries, written };
}
