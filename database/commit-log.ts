// The recent-commits log as pure rules: which records a group of APPLYs, a watermark or a
// recovery writes and deletes, and the index a database keeps of them in memory. A record
// says "this transaction landed here" and is written in its APPLY's batch, so the commit
// decision is kept where the data is: a coordinator that dies does not take it along, and
// recovery finds it (docs/design.md, section 9).
import type { CommitRecord } from '../protocol/schemas.js';
import { formatTimestamp, maxTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import type { Member } from '../view/types.js';
import { writtenKeys, type GroupApply } from './thomas.js';

/**
 * Where the records are kept: one reserved key per written group of APPLYs, holding the records
 * of that group still kept (a group's records are stored together: one put per group instead
 * of one per APPLY, and one delete once all of them are trimmed). The key is the prefix, then
 * the group's sequence number zero-padded, so the keys sort in writing order. Reserved keys
 * start with '!', which no entry name can (database/storage.ts).
 */
export const COMMIT_KEY_PREFIX = '!commit!';
/** Just after every record key ('"' follows '!'): the end of a range read of the log. */
export const COMMIT_KEYS_END = '!commit"';
/** Where the largest version ever written is kept. */
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
 * What one batch does to the log: group keys put (with every record the group keeps) and
 * group keys deleted (never both for one key), and how many records leave the log.
 */
export interface CommitLogChange {
  puts: Map<string, CommitRecord[]>;
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

/**
 * The records a database holds, by timestamp, by coordinator life and by stored group. The
 * store keeps it equal to what is durable: it plans a change, writes it in a batch, and only
 * then commits it here.
 */
export class CommitLog {
  /** Timestamp key -> the record and the group key it is stored under. */
  private readonly records = new Map<string, { record: CommitRecord; group: string }>();
  /** Life key -> timestamp keys of its records: a watermark looks at its coordinator's records only. */
  private readonly byLife = new Map<string, Set<string>>();
  /** Group key -> timestamp keys of the records it still stores. */
  private readonly groups = new Map<string, Set<string>>();
  private nextSequence = 0;

  /** `stored`: the group keys and their records, as read back from storage. */
  constructor(stored: Iterable<readonly [string, readonly CommitRecord[]]> = []) {
    for (const [group, records] of stored) {
      for (const record of records) this.add(group, record);
      this.nextSequence = Math.max(this.nextSequence, sequenceOf(group) + 1);
    }
  }

  get size(): number {
    return this.records.size;
  }

  /**
   * The change a group of APPLYs written as one batch makes: each APPLY's record, unless the
   * log holds it already (a repeated APPLY), in one new group key; then each watermark
   * removes every record of its own coordinator life at or below it, the group's own
   * included, and never another's. A stored group that loses some of its records is written
   * again with the rest; one that loses all is deleted.
   */
  planGroup(applies: readonly LoggedApply[]): CommitLogChange {
    /** Timestamp key -> the new record, in the order of the group. */
    const added = new Map<string, CommitRecord>();
    /** Life key -> the highest watermark its APPLYs in this group carry. */
    const watermarks = new Map<string, number>();
    for (const apply of applies) {
      const key = formatTimestamp(apply.ts);
      if (!this.records.has(key) && !added.has(key)) added.set(key, commitRecordOf(apply));
      if (apply.watermark !== undefined) {
        const life = lifeKey(apply.from);
        const before = watermarks.get(life);
        if (before === undefined || apply.watermark > before) watermarks.set(life, apply.watermark);
      }
    }
    // Once per life, not per APPLY: a group holds many APPLYs of a few lives, and trimming per
    // APPLY made the plan quadratic in the group.
    const removed = new Set<string>();
    for (const [life, watermark] of watermarks) {
      for (const key of this.byLife.get(life) ?? []) if (this.records.get(key)!.record.ts[0] <= watermark) removed.add(key);
    }
    for (const [key, record] of added) {
      const watermark = watermarks.get(lifeKey(record.coordinator));
      if (watermark !== undefined && record.ts[0] <= watermark) added.delete(key);
    }
    const change = this.changeRemoving(removed);
    if (added.size > 0) change.puts.set(commitGroupKey(this.nextSequence), [...added.values()]);
    return change;
  }

  /** The change a recovery's `drop` makes: the records it names that are here leave the log. */
  planDrop(drop: readonly Timestamp[]): CommitLogChange {
    return this.changeRemoving(new Set(drop.map(formatTimestamp).filter((key) => this.records.has(key))));
  }

  /** Takes in a change once its batch is written. */
  commit(change: CommitLogChange): void {
    for (const group of change.deletes) this.replaceGroup(group, []);
    for (const [group, records] of change.puts) {
      this.replaceGroup(group, records);
      this.nextSequence = Math.max(this.nextSequence, sequenceOf(group) + 1);
    }
  }

  /** Every record whose coordinator life is not among `members`, by timestamp: what recovery must settle. */
  notIn(members: readonly Member[]): CommitRecord[] {
    const kept = new Set(members.map(lifeKey));
    const found: CommitRecord[] = [];
    for (const [life, keysOfLife] of this.byLife) if (!kept.has(life)) for (const key of keysOfLife) found.push(this.records.get(key)!.record);
    // In timestamp order: the same answer from every database that holds the same records.
    return found.sort((a, b) => a.ts[0] - b.ts[0] || a.ts[1] - b.ts[1]);
  }

  /** The stored groups rewritten or deleted so that the records `removed` names leave the log. */
  private changeRemoving(removed: ReadonlySet<string>): CommitLogChange {
    const change: CommitLogChange = { puts: new Map(), deletes: new Set(), removed: removed.size };
    const touched = new Set<string>();
    for (const key of removed) touched.add(this.records.get(key)!.group);
    for (const group of touched) {
      const rest: CommitRecord[] = [];
      for (const key of this.groups.get(group)!) if (!removed.has(key)) rest.push(this.records.get(key)!.record);
      if (rest.length === 0) change.deletes.add(group);
      else change.puts.set(group, rest);
    }
    return change;
  }

  /** Makes `group` hold exactly `records` (none: the group is gone). */
  private replaceGroup(group: string, records: readonly CommitRecord[]): void {
    for (const key of this.groups.get(group) ?? []) this.remove(key);
    for (const record of records) this.add(group, record);
  }

  private add(group: string, record: CommitRecord): void {
    const key = formatTimestamp(record.ts);
    // The same timestamp from another life would be a broken clock; the newer record stands.
    this.remove(key);
    this.records.set(key, { record, group });
    addTo(this.byLife, lifeKey(record.coordinator), key);
    addTo(this.groups, group, key);
  }

  private remove(key: string): void {
    const held = this.records.get(key);
    if (!held) return;
    this.records.delete(key);
    removeFrom(this.byLife, lifeKey(held.record.coordinator), key);
    removeFrom(this.groups, held.group, key);
  }
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
