// The read phase of one middleware's transactions as protocol state: owned by its OccNode
// (occ/node.ts) and driven by the same loop of events in, effects out. A read asks for one
// block's keys at once, and the core decides where each key comes from:
//  - a key that one of this middleware's own transactions still being validated writes: the
//    read is parked until that writer is decided. Read now, it would give the version the
//    writer may be about to replace, and this middleware's own vote would then doom the reader.
//    Nothing parks behind a transaction still reading (it is not stamped, so not in flight),
//    so parked reads cannot close a cycle of waits;
//  - a key that one of its own decided transactions writes (committed, still being applied):
//    taken from memory, since a replica may not have that write yet; unless a newer writer of
//    another middleware has been voted for since, which only a replica can give;
//  - any other key: from a replica, asked to wait a little for the versions of other
//    middlewares' writers this middleware voted for (occ/remote-writers.ts).
// None of these choices is needed for safety: every read is validated, whatever it returned.
// They only spare transactions a doomed attempt. What safety asks of the read path is
// narrower: memory serves committed writes only; each entry carries the version its value
// was written at (never the version a read hoped to get); the clock moves past every version
// read (the README, "How it works"; the design document's timestamp rules).
import type { LamportClock } from '../timestamp/clock.js';
import { isBefore, type Timestamp } from '../timestamp/timestamp.js';
import { RemoteWriters, REMOTE_WRITERS_MAX_DEFAULT, REMOTE_WRITER_TTL_MS_DEFAULT } from './remote-writers.js';
import type { Key, TxnId, Value, Write } from '../transaction/types.js';
import { invariantBroken } from '../errors/invariant.js';

/**
 * Chosen by the shell: a small non-negative integer, unique among its reads not done yet. The
 * shell may reuse the id of a read that is done or failed, and should (the core keeps its
 * reads in an array indexed by it: no hash table churned per read, which measurably costs
 * garbage collection on the commit path).
 */
export type ReadId = number;

/** A key's value and the version it was written at; no value: never written, or deleted. */
export interface ReadEntry {
  version: Timestamp;
  value?: Value;
}

export type ReadEvent =
  /** A transaction's read phase needs `keys` (none of them in its workspace yet). */
  | { type: 'read-requested'; readId: ReadId; keys: Key[]; nowMs: number }
  /** The replica's entries for the keys of this read's `read-replica`, in that order. */
  | { type: 'read-answered'; readId: ReadId; entries: ReadEntry[] }
  /** No replica answered the `read-replica`: the read is over (the shell fails its caller). */
  | { type: 'read-failed'; readId: ReadId };

export type ReadEffect =
  /**
   * Read `keys` from a replica. `atLeast`: versions some of them are about to reach (writers
   * this middleware voted for), which the replica may wait up to `waitMs` for.
   */
  | { type: 'read-replica'; readId: ReadId; keys: Key[]; atLeast: Array<[Key, Timestamp]>; waitMs: number }
  /** The read is answered: an entry for every requested key, in the requested order. */
  | { type: 'read-done'; readId: ReadId; entries: ReadEntry[] };

/** What the read path needs to know of the node's own transactions in flight. */
export interface OwnWriters {
  /** One of the node's transactions not decided yet that writes `key`, if any. */
  undecidedWriterOf(key: Key): TxnId | undefined;
  /** The newest write of `key` by a decided transaction of the node not yet applied everywhere. */
  decidedWrite(key: Key): { ts: Timestamp; write: Write } | undefined;
}

/**
 * How long a read may wait at its replica for a write another middleware is committing:
 * about the time from a vote to the write being on disk under load.
 */
export const READ_WAIT_MS_DEFAULT = 5;
/**
 * At most this many reads park at once; beyond it a read goes ahead at once (it may be
 * doomed, but it is validated like any other). A middleware runs at most 10,000 transactions
 * at a time, each with one read outstanding, so this is reached only if that limit grows.
 */
export const PARKED_READS_MAX = 10_000;

export interface ReadPathOptions {
  /** How long a replica may wait for the versions a read awaits (READ_WAIT_MS_DEFAULT). */
  readWaitMs?: number;
  /** How many keys' remote writers are remembered (RemoteWriters). */
  remoteWritersMax?: number;
  /** How long a remote writer is waited for after its vote (RemoteWriters). */
  remoteWriterTtlMs?: number;
  /** Park a read behind an own writer still being validated (default on). Off: it reads at once. */
  parkReads?: boolean;
  /** A fault for tests (Faults.trustAwaitedVersions): entries claim the version awaited. */
  trustAwaitedVersions?: boolean;
}

/** A read sent to a replica that takes some keys from memory or awaits versions, until the replica answers. */
interface ReplicaRead {
  /** The keys asked of the replica: the requested keys themselves when memory serves none. */
  replicaKeys: Key[];
  /** Entries served from memory, by position among the requested keys; null when there are none. */
  memory: Array<ReadEntry | undefined> | null;
  /** The versions the replica was asked to wait for: settled when it answers. */
  atLeast: Array<[Key, Timestamp]>;
}

type ReadRequest = Extract<ReadEvent, { type: 'read-requested' }>;

/** Shared by every read that awaits nothing; frozen, so nobody can add to it. */
const NOTHING_AWAITED = Object.freeze([]) as unknown as Array<[Key, Timestamp]>;

export class ReadPath {
  private readonly remoteWriters: RemoteWriters;
  private readonly readWaitMs: number;
  private readonly parkReads: boolean;
  private readonly trustAwaitedVersions: boolean;
  /** Undecided own txid -> the reads parked until it is decided. */
  private readonly parked = new Map<TxnId, ReadRequest[]>();
  private parkedCount = 0;
  /**
   * readId -> a read a replica has not answered yet: just the keys asked when the replica's
   * answer is all of it (the common case: nothing allocated for it), or its plan.
   */
  private readonly atReplica: Array<Key[] | ReplicaRead | undefined> = [];
  private atReplicaCount = 0;
  /**
   * The latest time an event brought. A parked read is decided again when its writer is
   * decided, an event that carries no time: the remote writers' ages are taken at this one.
   */
  private nowMs = 0;
  /** Keys answered from the node's own decided writes rather than by a replica. */
  readsFromMemory = 0;
  /** Reads that had to wait for an own writer to be decided. */
  readsParked = 0;
  /** Reads that asked their replica to wait for a remote writer's version. */
  readsAwaitingWriters = 0;

  constructor(private readonly own: OwnWriters, private readonly clock: LamportClock, options: ReadPathOptions = {}) {
    this.remoteWriters = new RemoteWriters(options.remoteWritersMax ?? REMOTE_WRITERS_MAX_DEFAULT, options.remoteWriterTtlMs ?? REMOTE_WRITER_TTL_MS_DEFAULT);
    this.readWaitMs = options.readWaitMs ?? READ_WAIT_MS_DEFAULT;
    this.parkReads = options.parkReads ?? true;
    this.trustAwaitedVersions = options.trustAwaitedVersions ?? false;
    if (!(this.readWaitMs >= 0)) invariantBroken('read path: readWaitMs must be at least 0');
  }

  /** Reads parked now, and reads a replica has not answered yet (for tests and status). */
  get pending(): { parked: number; atReplica: number } {
    return { parked: this.parkedCount, atReplica: this.atReplicaCount };
  }

  /** Time came in on an event. */
  observeTime(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
  }

  /**
   * This node voted (not NO, so possibly soon committed) on another middleware's transaction
   * stamped `ts` that writes `keys`; `nowMs` is when the vote was asked for.
   */
  remoteWriterVoted(keys: readonly Key[], ts: Timestamp, nowMs: number): void {
    if (keys.length > 0) this.remoteWriters.seen(keys, ts, nowMs);
  }

  requested(event: ReadRequest): ReadEffect[] {
    this.observeTime(event.nowMs);
    if (this.atReplica[event.readId] !== undefined) invariantBroken(`occ: read ${event.readId} requested while a replica still reads for it`);
    return this.decide(event);
  }

  /** Parks the read behind an own undecided writer of one of its keys, or answers it. */
  private decide(read: ReadRequest): ReadEffect[] {
    if (this.parkReads && this.parkedCount < PARKED_READS_MAX) {
      for (const key of read.keys) {
        const writer = this.own.undecidedWriterOf(key);
        if (writer === undefined) continue;
        const waiting = this.parked.get(writer);
        if (waiting) waiting.push(read);
        else this.parked.set(writer, [read]);
        this.parkedCount += 1;
        this.readsParked += 1;
        return [];
      }
    }
    return this.plan(read.readId, read.keys);
  }

  /** Which keys memory serves, which the replica, and at least at which versions. */
  private plan(readId: ReadId, keys: Key[]): ReadEffect[] {
    let memory: Array<ReadEntry | undefined> | null = null;
    let replicaKeys = keys;
    let atLeast = NOTHING_AWAITED;
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index]!;
      const awaited = this.remoteWriters.size > 0 ? this.remoteWriters.awaitedVersion(key, this.nowMs) : undefined;
      const decided = this.own.decidedWrite(key);
      // A newer writer of another middleware, voted for since: the replica will have it, memory not.
      if (decided && (awaited === undefined || !isBefore(decided.ts, awaited))) {
        if (memory === null) {
          memory = new Array<ReadEntry | undefined>(keys.length);
          replicaKeys = keys.slice(0, index);
        }
        memory[index] = decided.write.value === undefined ? { version: decided.ts } : { version: decided.ts, value: decided.write.value };
        this.readsFromMemory += 1;
        continue;
      }
      if (memory !== null) replicaKeys.push(key);
      if (awaited !== undefined) {
        if (atLeast === NOTHING_AWAITED) atLeast = [];
        atLeast.push([key, awaited]);
      }
    }
    if (replicaKeys.length === 0) return [this.done(readId, (memory ?? []) as ReadEntry[])];
    this.atReplica[readId] = memory === null && atLeast === NOTHING_AWAITED ? keys : { replicaKeys, memory, atLeast };
    this.atReplicaCount += 1;
    if (atLeast.length > 0) this.readsAwaitingWriters += 1;
    return [{ type: 'read-replica', readId, keys: replicaKeys, atLeast, waitMs: atLeast.length > 0 ? this.readWaitMs : 0 }];
  }

  answered(event: Extract<ReadEvent, { type: 'read-answered' }>): ReadEffect[] {
    const read = this.atReplica[event.readId];
    if (read === undefined) invariantBroken(`occ: read ${event.readId} answered, but no replica was asked for it`);
    this.atReplica[event.readId] = undefined;
    this.atReplicaCount -= 1;
    const replicaKeys = Array.isArray(read) ? read : read.replicaKeys;
    if (event.entries.length !== replicaKeys.length) invariantBroken(`occ: read ${event.readId} got ${event.entries.length} entries for ${replicaKeys.length} keys`);
    if (Array.isArray(read)) return [this.done(event.readId, event.entries)];
    // Whether the awaited version came or the wait ran out, that writer is not waited for
    // again: it has committed (the replica has it now) or, most likely, aborted.
    for (const [key, ts] of read.atLeast) this.remoteWriters.settled(key, ts);
    const replicaEntries = this.trustAwaitedVersions && read.atLeast.length > 0 ? claimAwaited(read, event.entries) : event.entries;
    if (read.memory === null) return [this.done(event.readId, replicaEntries)];
    const entries = read.memory as ReadEntry[];
    let next = 0;
    for (let index = 0; index < entries.length; index++) {
      if (entries[index] === undefined) entries[index] = replicaEntries[next++]!;
    }
    return [this.done(event.readId, entries)];
  }

  failed(event: Extract<ReadEvent, { type: 'read-failed' }>): ReadEffect[] {
    if (this.atReplica[event.readId] === undefined) return [];
    this.atReplica[event.readId] = undefined;
    this.atReplicaCount -= 1;
    return [];
  }

  /** The clock moves past every version read: whatever this node stamps later is ordered after it. */
  private done(readId: ReadId, entries: ReadEntry[]): ReadEffect {
    for (const entry of entries) this.clock.observe(entry.version);
    return { type: 'read-done', readId, entries };
  }

  /**
   * An own transaction `txid` was decided (committed or aborted): the reads parked behind it
   * are decided again (each may park again, behind another undecided writer of its keys).
   */
  writerDecided(txid: TxnId): ReadEffect[] {
    if (this.parkedCount === 0) return [];
    const waiting = this.parked.get(txid);
    if (!waiting) return [];
    this.parked.delete(txid);
    this.parkedCount -= waiting.length;
    const effects: ReadEffect[] = [];
    for (const read of waiting) effects.push(...this.decide(read));
    return effects;
  }
}

/**
 * The fault trustAwaitedVersions: an at-least read is taken to have got what it awaited, so a
 * replica whose wait ran out (the writer aborted, or is slow) has its older value recorded
 * under the newer version. The read set then vouches for a write the value never saw.
 */
function claimAwaited(read: ReplicaRead, entries: ReadEntry[]): ReadEntry[] {
  const claimed = [...entries];
  for (const [key, ts] of read.atLeast) {
    const index = read.replicaKeys.indexOf(key);
    const entry = claimed[index]!;
    if (isBefore(entry.version, ts)) claimed[index] = entry.value === undefined ? { version: ts } : { version: ts, value: entry.value };
  }
  return claimed;
}
