// What a database's reads see and wait for while APPLYs are admitted but not yet written, as
// pure rules over the admitted writes and the stored entries. The server and the request
// queue keep the promises, timers and storage calls; the seeded simulation runs these same
// rules in its replicas.
//
// Every APPLY is a committed write: a middleware sends it only after the commit decision. So
// from the moment a database admits an APPLY, the stored version of each key it writes is
// already stale, and the rules below say what a read does about that.
import { invariantBroken } from '../errors/invariant.js';
import type { Entry } from '../protocol/schemas.js';
import { TIMESTAMP_ZERO, isBefore, type Timestamp } from '../timestamp/timestamp.js';
import type { Key, Write } from '../transaction/types.js';

/** One admitted APPLY's write of one key. */
export interface AdmittedWrite {
  readonly ts: Timestamp;
  readonly write: Write;
}

/**
 * The writes of the APPLYs a database has admitted (waiting for their group, or in the group
 * being written) and not yet written, by key.
 */
export class AdmittedWrites {
  private readonly byKey = new Map<Key, AdmittedWrite[]>();

  /** How many keys some admitted APPLY writes. */
  get keyCount(): number {
    return this.byKey.size;
  }

  /**
   * Records the writes of an APPLY the database has just admitted. Returns them as the handle
   * `remove` takes once its group is written (or refused).
   */
  add(ts: Timestamp, writes: readonly Write[]): AdmittedWrite[] {
    const admitted = writes.map((write) => ({ ts, write }));
    for (const item of admitted) {
      const writesOfKey = this.byKey.get(item.write.key);
      if (writesOfKey) writesOfKey.push(item);
      else this.byKey.set(item.write.key, [item]);
    }
    return admitted;
  }

  /** Forgets an APPLY's writes: its group is stored, or it was refused. Each handle is removed once. */
  remove(admitted: readonly AdmittedWrite[]): void {
    for (const item of admitted) {
      const key = item.write.key;
      const writesOfKey = this.byKey.get(key);
      const index = writesOfKey ? writesOfKey.indexOf(item) : -1;
      if (index === -1) invariantBroken(`an admitted write of ${key} was removed twice, or never added`);
      writesOfKey!.splice(index, 1);
      if (writesOfKey!.length === 0) this.byKey.delete(key);
    }
  }

  /**
   * The version re-read rule: a read of stored versions (the coordinator's check after the
   * last vote) waits for the groups admitted so far when one of its keys is written by an
   * admitted APPLY. That APPLY is committed, so the stored version is stale and the check
   * must see the newer one; waiting costs one sync or two. A read of other keys does not wait.
   */
  versionReadMustWait(keys: readonly Key[]): boolean {
    if (this.byKey.size === 0) return false;
    for (let index = 0; index < keys.length; index++) if (this.byKey.has(keys[index]!)) return true;
    return false;
  }

  /**
   * The newest admitted write of `key`: the one with the largest timestamp, whatever the order
   * the APPLYs were admitted in (the Thomas rule will keep it). Among equal timestamps (a
   * repeated APPLY) the first admitted.
   */
  newest(key: Key): AdmittedWrite | undefined {
    const writesOfKey = this.byKey.get(key);
    if (!writesOfKey) return undefined;
    let newest = writesOfKey[0]!;
    for (const candidate of writesOfKey) if (isBefore(newest.ts, candidate.ts)) newest = candidate;
    return newest;
  }

  /**
   * The committed state of `keys`: `storedEntries` (positionally, as storage read them), except
   * where an admitted APPLY brings a newer version. A transaction that read the stored version
   * instead could only restart, and waiting for the APPLY's sync would make the key's next
   * writer wait that long too; what is read this way is validated like any other read. An
   * admitted write older than what is stored (an APPLY that arrived late) changes nothing.
   * Returns `storedEntries` itself when nothing is admitted, else a new array.
   */
  committedEntries(keys: readonly Key[], storedEntries: Entry[]): Entry[] {
    if (storedEntries.length !== keys.length) invariantBroken(`storage answered ${storedEntries.length} entries for ${keys.length} keys`);
    if (this.byKey.size === 0) return storedEntries;
    return storedEntries.map((stored, index) => {
      const admitted = this.newest(keys[index]!);
      return admitted && isBefore(stored.version, admitted.ts) ? entryOf(admitted) : stored;
    });
  }
}

/** An admitted write as the entry it will store: its APPLY's timestamp as version; no value is a tombstone. */
export function entryOf(admitted: AdmittedWrite): Entry {
  const version: [number, number] = [admitted.ts[0], admitted.ts[1]];
  return admitted.write.value === undefined ? { version } : { version, value: admitted.write.value };
}

/**
 * Above this many (key, at-least version) pairs, `atLeastReached` looks keys up in a map
 * rather than by a linear search of `keys`: a transaction's read block names a few keys, and a
 * search of them costs less than building a map; a request of thousands would cost millions
 * of comparisons.
 */
const LINEAR_SEARCH_PAIRS_MAX = 1024;

/**
 * The at-least rule: whether `entries` (of `keys`, positionally) hold at least each version
 * of `atLeast`. A read that names versions a transaction known to be committing is about to
 * write is answered once this holds (or when its wait runs out). A key of `atLeast` that is
 * not among `keys` counts as never written.
 */
export function atLeastReached(keys: readonly Key[], entries: readonly Entry[], atLeast: ReadonlyArray<readonly [Key, Timestamp]>): boolean {
  if (entries.length !== keys.length) invariantBroken(`${entries.length} entries for ${keys.length} keys`);
  if (keys.length * atLeast.length > LINEAR_SEARCH_PAIRS_MAX) return atLeastReachedByMap(keys, entries, atLeast);
  for (let index = 0; index < atLeast.length; index++) {
    const pair = atLeast[index]!;
    // The last occurrence, as a map would keep it; a key named twice was read twice alike.
    const found = keys.lastIndexOf(pair[0]);
    if (isBefore(found === -1 ? TIMESTAMP_ZERO : entries[found]!.version, pair[1])) return false;
  }
  return true;
}

function atLeastReachedByMap(keys: readonly Key[], entries: readonly Entry[], atLeast: ReadonlyArray<readonly [Key, Timestamp]>): boolean {
  const versions = new Map<Key, Timestamp>();
  for (let index = 0; index < keys.length; index++) versions.set(keys[index]!, entries[index]!.version);
  for (const [key, version] of atLeast) if (isBefore(versions.get(key) ?? TIMESTAMP_ZERO, version)) return false;
  return true;
}
