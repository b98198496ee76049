// The recent-commits log as pure rules: which records a group of APPLYs, a watermark or a
// recovery writes and deletes, and the index a database keeps of them in memory. A record
// says "this transaction landed here" and is written in its APPLY's batch, so the commit
// decision is kept where the data is: a coordinator that dies does not take it along, and
// recovery finds it (docs/design.md, section 9).
import type { CommitRecord } from '../protocol/schemas.js';
import { maxTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import type { Member } from '../view/types.js';
import { writtenKeys, type GroupApply } from './thomas.js';

/**
 * Where the records are kept, one reserved key each: the prefix, then the timestamp's counter
 * and middleware id zero-padded, so the keys sort by timestamp. Reserved keys start with '!',
 * which no entry name can (database/storage.ts).
 */
export const COMMIT_KEY_PREFIX = '!commit!';
/** Just after every record key ('"' follows '!'): the end of a range read of the log. */
export const COMMIT_KEYS_END = '!commit"';
/** Where the largest version ever written is kept. */
export const MAX_VERSION_KEY = '!max-version';

/** Number.MAX_SAFE_INTEGER has 16 digits: every counter and id fits. */
const PADDED_DIGITS = 16;

/** The reserved key of the record of the transaction with timestamp `ts`. */
export function commitRecordKey(ts: Timestamp): string {
  return `${COMMIT_KEY_PREFIX}${String(ts[0]).padStart(PADDED_DIGITS, '0')}.${String(ts[1]).padStart(PADDED_DIGITS, '0')}`;
}

/** An APPLY as the log sees it: its coordinator, and its batch's watermark if it carried one. */
export interface LoggedApply extends GroupApply {
  from: Member;
  /** Every transaction of `from` with a counter at or below this is on every database of its view. */
  watermark?: number;
}

/** What one batch does to the log: records put and record keys deleted (never both for one key). */
export interface CommitLogChange {
  puts: Map<string, CommitRecord>;
  deletes: Set<string>;
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
 * The records a database holds, by key and by coordinator life. The store keeps it equal to
 * what is durable: it plans a change, writes it in a batch, and only then commits it here.
 */
export class CommitLog {
  private readonly records = new Map<string, CommitRecord>();
  /** Life key -> keys of its records: a watermark looks at its coordinator's records only. */
  private readonly byLife = new Map<string, Set<string>>();

  constructor(records: Iterable<CommitRecord> = []) {
    for (const record of records) this.put(commitRecordKey(record.ts), record);
  }

  get size(): number {
    return this.records.size;
  }

  /**
   * The change a group of APPLYs written as one batch makes: each APPLY's record (a repeated
   * APPLY rewrites the same one), then each watermark deletes every record of its own
   * coordinator life at or below it, the group's own included, and never another's.
   */
  planGroup(applies: readonly LoggedApply[]): CommitLogChange {
    const puts = new Map<string, CommitRecord>();
    /** Life key -> the highest watermark its APPLYs in this group carry. */
    const watermarks = new Map<string, number>();
    /** Life key -> the keys of the records this group puts for it. */
    const putsByLife = new Map<string, string[]>();
    for (const apply of applies) {
      const key = commitRecordKey(apply.ts);
      const life = lifeKey(apply.from);
      puts.set(key, commitRecordOf(apply));
      const ofLife = putsByLife.get(life);
      if (ofLife) ofLife.push(key);
      else putsByLife.set(life, [key]);
      if (apply.watermark !== undefined) watermarks.set(life, Math.max(watermarks.get(life) ?? 0, apply.watermark));
    }
    // Once per life, not per APPLY: a group holds hundreds of APPLYs of a few lives, and
    // trimming per APPLY made the plan quadratic in the group (it doubled the database's CPU
    // per commit under 16 bank clients).
    const deletes = new Set<string>();
    for (const [life, watermark] of watermarks) {
      for (const key of this.byLife.get(life) ?? []) if (this.records.get(key)!.ts[0] <= watermark) deletes.add(key);
      for (const key of putsByLife.get(life) ?? []) if (puts.get(key)!.ts[0] <= watermark) deletes.add(key);
    }
    for (const key of deletes) puts.delete(key);
    return { puts, deletes };
  }

  /** The change a recovery's `drop` makes: the keys of the records it names that are here. */
  planDrop(drop: readonly Timestamp[]): CommitLogChange {
    const deletes = new Set(drop.map(commitRecordKey).filter((key) => this.records.has(key)));
    return { puts: new Map(), deletes };
  }

  /** Takes in a change once its batch is written. */
  commit(change: CommitLogChange): void {
    for (const key of change.deletes) this.remove(key);
    for (const [key, record] of change.puts) this.put(key, record);
  }

  /** Every record whose coordinator life is not among `members`, by timestamp: what recovery must settle. */
  notIn(members: readonly Member[]): CommitRecord[] {
    const kept = new Set(members.map(lifeKey));
    const keys: string[] = [];
    for (const [life, keysOfLife] of this.byLife) if (!kept.has(life)) keys.push(...keysOfLife);
    // In timestamp order, as the keys sort: the same answer from every database that holds the same records.
    return keys.sort().map((key) => this.records.get(key)!);
  }

  private put(key: string, record: CommitRecord): void {
    // The same timestamp from another life would be a broken clock; the newer record stands.
    this.remove(key);
    this.records.set(key, record);
    const life = lifeKey(record.coordinator);
    const keys = this.byLife.get(life);
    if (keys) keys.add(key);
    else this.byLife.set(life, new Set([key]));
  }

  private remove(key: string): void {
    const record = this.records.get(key);
    if (!record) return;
    this.records.delete(key);
    const life = lifeKey(record.coordinator);
    const keys = this.byLife.get(life)!;
    keys.delete(key);
    if (keys.size === 0) this.byLife.delete(life);
  }
}
