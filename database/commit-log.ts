// The recent-commits log as pure rules: which records a group of APPLYs, a watermark or a
// recovery writes and deletes, and the index a database keeps of them in memory. A record
// says "this transaction landed here" and is written in its APPLY's batch, so the commit
// decision is kept where the data is: a coordinator that dies does not take it along, and
// recovery finds it (docs/design.md, section 9).
import type { CommitRecord } from '../protocol/schemas.js';
import { TIMESTAMP_ZERO, formatTimestamp, maxTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import type { Member } from '../view/types.js';
import { writtenKeys, type GroupApply } from './thomas.js';

/**
 * Where the log is kept: one reserved key per written group of APPLYs, holding the records of
 * that group (a group's records are stored together: one put per group instead of one per
 * APPLY). The key is the prefix, then the group's sequence number zero-padded, so the keys sort
 * in writing order. Reserved keys start with '!', which no entry name can (database/storage.ts).
 */
export const COMMIT_KEY_PREFIX = '!commit!';
/** Just after every group key ('"' follows '!'): the end of a range read of the log. */
export const COMMIT_KEYS_END = '!commit"';
/**
 * Where a directory written before the log kept the largest version kept it. Read when no
 * stored group holds the log's state; never written any more.
 */
export const MAX_VERSION_KEY = '!max-version';

/** Number.MAX_SAFE_INTEGER has 16 digits: every sequence number fits. */
const PADDED_DIGITS = 16;

/** The reserved key of the records of the group with sequence number `sequence`. */
export function commitGroupKey(sequence: number): string {
  return `${COMMIT_KEY_PREFIX}${String(sequence).padStart(PADDED_DIGITS, '0')}`;
}

function sequenceOf(groupKey: string): number {
  return Number(groupKey.slice(COMMIT_KEY_PREFIX.length));
}

/** An APPLY as the log sees it: its coordinator, and its batch's watermark if it carried one. */
export interface LoggedApply extends GroupApply {
  from: Member;
  /**
   * Every transaction of `from` with a counter at or below this is on every database of its
   * view. The database always sets it (undefined when the batch carried none): one object shape.
   */
  watermark?: number | undefined;
}

/**
 * The log's state as of a batch: each coordinator life's watermark (for every life some stored
 * group still holds a record of), and the largest version written.
 */
export interface LogState {
  watermarks: Array<[id: number, incarnation: string, counter: number]>;
  maxVersion: Timestamp;
}

/**
 * A group of the log: its records, and in the group written last, the log's state. A record
 * at or below its life's watermark in that state is trimmed: it stays in its group's value
 * until the group is deleted, but it is no longer in the log. So a watermark trims with one
 * small write (the newest group's state) instead of a rewrite of every group it takes a
 * record from.
 */
export interface StoredGroup {
  records: CommitRecord[];
  state?: LogState;
}

/**
 * A group as LevelDB stores it: each life once, and each record as its life's index, its
 * timestamp and its keys. Every byte of it goes through LevelDB's log, memtable and
 * compactions, beside the entries themselves: as plain records (about 90 bytes each) the log
 * was most of the bytes an APPLY wrote.
 */
export interface EncodedGroup {
  lives: Array<[id: number, incarnation: string]>;
  records: Array<[life: number, counter: number, node: number, ...keys: string[]]>;
  state?: LogState;
}

export function encodeGroup(group: StoredGroup): EncodedGroup {
  const lives: EncodedGroup['lives'] = [];
  const index = new Map<string, number>();
  const records: EncodedGroup['records'] = [];
  for (const record of group.records) {
    const life = lifeKey(record.coordinator);
    let at = index.get(life);
    if (at === undefined) {
      at = lives.length;
      index.set(life, at);
      lives.push([record.coordinator.id, record.coordinator.incarnation]);
    }
    records.push([at, record.ts[0], record.ts[1], ...record.keys]);
  }
  return group.state ? { lives, records, state: group.state } : { lives, records };
}

/** A group as read back: encoded, or a bare array of records (a directory written before the encoding). */
export function decodeGroup(stored: EncodedGroup | CommitRecord[]): StoredGroup {
  if (Array.isArray(stored)) return { records: stored };
  const records = stored.records.map(([life, counter, node, ...keys]): CommitRecord => {
    const [id, incarnation] = stored.lives[life]!;
    return { ts: [counter, node], coordinator: { id, incarnation }, keys };
  });
  return stored.state ? { records, state: stored.state } : { records };
}

/**
 * What one batch does to the log: group keys put and group keys deleted (never both for one
 * key), and how many records leave the log. A change that alters the log's state puts a new
 * group carrying it, even with no records; one that alters nothing puts nothing.
 */
export interface CommitLogChange {
  puts: Map<string, StoredGroup>;
  deletes: Set<string>;
  removed: number;
}

/** One life of a middleware as a map key; an incarnation holds no '/'. */
function lifeKey(member: Member): string {
  return `${member.id}/${member.incarnation}`;
}

/** The record an APPLY leaves: its timestamp, coordinator and the keys it writes (whether or not the Thomas rule kept them). */
export function commitRecordOf(apply: LoggedApply): CommitRecord {
  return { ts: [apply.ts[0], apply.ts[1]], coordinator: { id: apply.from.id, incarnation: apply.from.incarnation }, keys: writtenKeys(apply.writes) };
}

/** The largest of `current` and the timestamps of `applies`: what a group makes the largest version written. */
export function maxVersionAfter(current: Timestamp, versions: Iterable<Timestamp>): Timestamp {
  let max = current;
  for (const version of versions) max = maxTimestamp(max, version);
  return max;
}

/** The state the group written last holds, if it holds one (a directory written before the state was kept has none). */
export function storedLogState(stored: ReadonlyArray<readonly [string, StoredGroup]>): LogState | undefined {
  let newest: readonly [string, StoredGroup] | undefined;
  for (const group of stored) if (newest === undefined || sequenceOf(group[0]) > sequenceOf(newest[0])) newest = group;
  return newest?.[1].state;
}

/**
 * The records a database holds, by timestamp, by coordinator life and by stored group, the
 * watermarks and the largest version written. The store keeps it equal to what is durable: it
 * plans a change, writes it in a batch, and only then commits it here.
 */
export class CommitLog {
  /** Timestamp key -> the record and the group key it is stored under. */
  private readonly records = new Map<string, { record: CommitRecord; group: string }>();
  /** Life key -> timestamp keys of its records: a watermark looks at its coordinator's records only. */
  private readonly byLife = new Map<string, Set<string>>();
  /** Group key -> timestamp keys of the records of it still in the log. */
  private readonly groups = new Map<string, Set<string>>();
  /** Group key -> the lives it stores records of, trimmed ones included. */
  private readonly livesStored = new Map<string, Set<string>>();
  /** Life key -> how many stored groups hold a record of it, trimmed ones included. */
  private readonly groupsStoring = new Map<string, number>();
  /** Groups whose every record was trimmed before a restart: the next change deletes them. */
  private readonly emptyAtLoad = new Set<string>();
  /** Life key -> its member and watermark, for every life a stored group holds a record of. */
  private readonly watermarks = new Map<string, { member: Member; counter: number }>();
  private largestVersion: Timestamp;
  private nextSequence = 0;
  /** The group written last: it holds the state, so it is deleted only once another does. */
  private newestGroup: string | undefined;

  /**
   * `stored`: the group keys and their values, as read back from storage. `maxVersionBefore`:
   * the largest version when no stored group holds the state (storedLogState).
   */
  constructor(stored: ReadonlyArray<readonly [string, StoredGroup]> = [], maxVersionBefore: Timestamp = TIMESTAMP_ZERO) {
    const state = storedLogState(stored);
    this.largestVersion = state?.maxVersion ?? maxVersionBefore;
    for (const [id, incarnation, counter] of state?.watermarks ?? []) this.watermarks.set(lifeKey({ id, incarnation }), { member: { id, incarnation }, counter });
    for (const [group, value] of stored) {
      const sequence = sequenceOf(group);
      if (sequence >= this.nextSequence) {
        this.nextSequence = sequence + 1;
        this.newestGroup = group;
      }
      this.storeGroup(group, value.records);
    }
    for (const [group, keys] of this.groups) if (keys.size === 0 && group !== this.newestGroup) this.emptyAtLoad.add(group);
  }

  get size(): number {
    return this.records.size;
  }

  /**
   * The largest version ever written (by an APPLY, even one the Thomas rule kept nothing of, or a
   * recovery) or observed (a confirmed read-only commit's timestamp).
   */
  get maxVersion(): Timestamp {
    return this.largestVersion;
  }

  /**
   * Raises the largest version to `version` in memory: the next change carries it in its state
   * (each plan starts from it), so it is on disk once a group is written after it.
   */
  observe(version: Timestamp): void {
    this.largestVersion = maxTimestamp(this.largestVersion, version);
  }

  /**
   * The change a group of APPLYs written as one batch makes: each APPLY's record, unless the
   * log holds it already or its life's watermark covers it (a repeated APPLY), in one new group
   * key; then each watermark removes every record of its own coordinator life at or below it,
   * the group's own included, and never another's.
   */
  planGroup(applies: readonly LoggedApply[]): CommitLogChange {
    /** Timestamp key -> the new record, in the order of the group. */
    const added = new Map<string, CommitRecord>();
    /** Life key -> the highest watermark its APPLYs in this group carry, where it raises the stored one. */
    const raised = new Map<string, { member: Member; counter: number }>();
    let maxVersion = this.largestVersion;
    for (const apply of applies) {
      maxVersion = maxTimestamp(maxVersion, apply.ts);
      if (apply.watermark === undefined) continue;
      const life = lifeKey(apply.from);
      const before = raised.get(life)?.counter ?? this.watermarks.get(life)?.counter;
      if (before === undefined || apply.watermark > before) raised.set(life, { member: apply.from, counter: apply.watermark });
    }
    for (const apply of applies) {
      const key = formatTimestamp(apply.ts);
      if (this.records.has(key) || added.has(key)) continue;
      const life = lifeKey(apply.from);
      const watermark = raised.get(life)?.counter ?? this.watermarks.get(life)?.counter;
      if (watermark === undefined || apply.ts[0] > watermark) added.set(key, commitRecordOf(apply));
    }
    // Once per life, not per APPLY: a group holds many APPLYs of a few lives.
    const removed = new Set<string>();
    for (const [life, { counter }] of raised) {
      for (const key of this.byLife.get(life) ?? []) if (this.records.get(key)!.record.ts[0] <= counter) removed.add(key);
    }
    return this.change(removed, added, raised, maxVersion, false);
  }

  /**
   * The change a recovery makes: the records `drop` names that are here leave the log (their
   * groups written again without them), and the largest version rises to `versions`.
   */
  planDrop(drop: readonly Timestamp[], versions: readonly Timestamp[]): CommitLogChange {
    const removed = new Set(drop.map(formatTimestamp).filter((key) => this.records.has(key)));
    return this.change(removed, new Map(), new Map(), maxVersionAfter(this.largestVersion, versions), true);
  }

  /**
   * The change a page of a state transfer makes (docs/design.md, section 9): each record of an
   * in-sync replica's log enters this one, unless the log holds it already (the APPLY reached
   * this database too, or an earlier page brought it) or its life's watermark covers it (the
   * transaction is on every database of its view: a later APPLY here said so), in one new
   * group; and the largest version rises to `versions` and to the records' timestamps, as an
   * APPLY of them would raise it.
   */
  planTransfer(records: readonly CommitRecord[], versions: readonly Timestamp[]): CommitLogChange {
    const added = new Map<string, CommitRecord>();
    for (const record of records) {
      const key = formatTimestamp(record.ts);
      if (this.records.has(key) || added.has(key)) continue;
      const watermark = this.watermarks.get(lifeKey(record.coordinator))?.counter;
      if (watermark === undefined || record.ts[0] > watermark) added.set(key, copyRecord(record));
    }
    const maxVersion = maxVersionAfter(maxVersionAfter(this.largestVersion, versions), records.map((record) => record.ts));
    return this.change(new Set(), added, new Map(), maxVersion, false);
  }

  /**
   * The change that empties the log, for a store being cleared: every stored group deleted,
   * and one new group with no record that holds the state: no watermark (no life has a record
   * here any more) and the largest version as it was. The largest version is kept, not reset:
   * it feeds the INSTALL clock, which must be above every version stored here, and a version
   * stored before the clear may come back through the transfer; a clock above a version no
   * longer stored costs nothing.
   */
  planClear(): CommitLogChange {
    const state: LogState = { watermarks: [], maxVersion: [this.largestVersion[0], this.largestVersion[1]] };
    return { puts: new Map([[commitGroupKey(this.nextSequence), { records: [], state }]]), deletes: new Set(this.groups.keys()), removed: this.records.size };
  }

  /** Takes in a change once its batch is written. */
  commit(change: CommitLogChange): void {
    for (const group of change.deletes) this.forgetGroup(group);
    for (const [group, stored] of change.puts) {
      this.forgetGroup(group);
      this.storeGroup(group, stored.records);
      if (stored.state) this.takeState(group, stored.state);
    }
    // A life no stored group holds a record of needs no watermark.
    for (const life of [...this.watermarks.keys()]) if (!this.groupsStoring.has(life)) this.watermarks.delete(life);
  }

  /** Every record whose coordinator life is not among `members`, by timestamp: what recovery must settle. */
  notIn(members: readonly Member[]): CommitRecord[] {
    const kept = new Set(members.map(lifeKey));
    const found: CommitRecord[] = [];
    for (const [life, keysOfLife] of this.byLife) if (!kept.has(life)) for (const key of keysOfLife) found.push(this.records.get(key)!.record);
    // In timestamp order: the same answer from every database that holds the same records.
    return found.sort((a, b) => a.ts[0] - b.ts[0] || a.ts[1] - b.ts[1]);
  }

  /**
   * The change that removes `removed` and adds `added` in a new group, with `raised` watermarks
   * and `maxVersion`. Removed records leave by the watermarks, or, with `rewrite` (a recovery's
   * drop, which is no watermark), by writing their groups again without them. A group left with
   * no record in the log is deleted, unless it is the newest and nothing else takes its state.
   */
  private change(removed: ReadonlySet<string>, added: ReadonlyMap<string, CommitRecord>, raised: ReadonlyMap<string, { member: Member; counter: number }>, maxVersion: Timestamp, rewrite: boolean): CommitLogChange {
    const change: CommitLogChange = { puts: new Map(), deletes: new Set(this.emptyAtLoad), removed: removed.size };
    const touched = new Set<string>();
    for (const key of removed) touched.add(this.records.get(key)!.group);
    for (const group of touched) {
      const rest: CommitRecord[] = [];
      for (const key of this.groups.get(group)!) if (!removed.has(key)) rest.push(this.records.get(key)!.record);
      if (rest.length === 0) change.deletes.add(group);
      else if (rewrite) change.puts.set(group, { records: rest });
    }
    if (added.size === 0 && raised.size === 0 && maxVersion === this.largestVersion && change.deletes.size === 0 && change.puts.size === 0) return change;
    // The new group carries the state, so the one that carried it until now may go.
    const newest = this.newestGroup;
    if (newest !== undefined && !change.puts.has(newest) && (this.groups.get(newest)?.size ?? 0) === 0) change.deletes.add(newest);
    const lives = new Map<string, { member: Member; counter: number }>(this.watermarks);
    for (const [life, watermark] of raised) lives.set(life, watermark);
    const group = commitGroupKey(this.nextSequence);
    const records = [...added.values()];
    const state: LogState = { watermarks: [], maxVersion: [maxVersion[0], maxVersion[1]] };
    for (const [life, { member, counter }] of lives) {
      if (this.anyGroupStores(life, change.deletes) || records.some((record) => lifeKey(record.coordinator) === life)) state.watermarks.push([member.id, member.incarnation, counter]);
    }
    change.puts.set(group, { records, state });
    return change;
  }

  /** True when a stored group (other than those in `deleted`) holds a record of `life`, trimmed or not. */
  private anyGroupStores(life: string, deleted: ReadonlySet<string> = new Set()): boolean {
    let count = this.groupsStoring.get(life) ?? 0;
    for (const group of deleted) if (this.livesStored.get(group)?.has(life)) count -= 1;
    return count > 0;
  }

  private takeState(group: string, state: LogState): void {
    this.newestGroup = group;
    this.nextSequence = Math.max(this.nextSequence, sequenceOf(group) + 1);
    // Never lower: a version observed while the change was written is above what it planned.
    this.largestVersion = maxTimestamp(this.largestVersion, state.maxVersion);
    this.watermarks.clear();
    for (const [id, incarnation, counter] of state.watermarks) this.watermarks.set(lifeKey({ id, incarnation }), { member: { id, incarnation }, counter });
    // Records a raised watermark covers leave the log (they stay in their groups' values).
    for (const [life, { counter }] of this.watermarks) {
      for (const key of [...(this.byLife.get(life) ?? [])]) if (this.records.get(key)!.record.ts[0] <= counter) this.remove(key);
    }
  }

  /** Takes in a stored group's records: those above their life's watermark enter the log. */
  private storeGroup(group: string, records: readonly CommitRecord[]): void {
    const lives = new Set<string>();
    this.groups.set(group, new Set());
    for (const record of records) {
      const life = lifeKey(record.coordinator);
      lives.add(life);
      const watermark = this.watermarks.get(life);
      if (watermark === undefined || record.ts[0] > watermark.counter) this.add(group, record);
    }
    this.livesStored.set(group, lives);
    for (const life of lives) this.groupsStoring.set(life, (this.groupsStoring.get(life) ?? 0) + 1);
  }

  private forgetGroup(group: string): void {
    for (const key of this.groups.get(group) ?? []) this.remove(key);
    for (const life of this.livesStored.get(group) ?? []) {
      const count = this.groupsStoring.get(life)! - 1;
      if (count === 0) this.groupsStoring.delete(life);
      else this.groupsStoring.set(life, count);
    }
    this.groups.delete(group);
    this.livesStored.delete(group);
    this.emptyAtLoad.delete(group);
  }

  private add(group: string, record: CommitRecord): void {
    const key = formatTimestamp(record.ts);
    // The same timestamp from another life would be a broken clock; the newer record stands.
    this.remove(key);
    this.records.set(key, { record, group });
    addTo(this.byLife, lifeKey(record.coordinator), key);
    this.groups.get(group)!.add(key);
  }

  private remove(key: string): void {
    const held = this.records.get(key);
    if (!held) return;
    this.records.delete(key);
    removeFrom(this.byLife, lifeKey(held.record.coordinator), key);
    this.groups.get(held.group)?.delete(key);
  }
}

/** A record as this log keeps it: a copy, so a later change to the caller's object is not stored. */
function copyRecord(record: CommitRecord): CommitRecord {
  return { ts: [record.ts[0], record.ts[1]], coordinator: { id: record.coordinator.id, incarnation: record.coordinator.incarnation }, keys: [...record.keys] };
}

function addTo(index: Map<string, Set<string>>, name: string, key: string): void {
  const keys = index.get(name);
  if (keys) keys.add(key);
  else index.set(name, new Set([key]));
}

function removeFrom(index: Map<string, Set<string>>, name: string, key: string): void {
  const keys = index.get(name)!;
  keys.delete(key);
  if (keys.size === 0) index.delete(name);
}
