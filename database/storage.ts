// LevelDB access for one DATABASE: every key holds { version, value? } (no value = tombstone).
// Entries are written only by APPLYs, recoveries and state transfers, each as one synced batch
// under the Thomas write rule, and removed only by a clear; reserved keys beside them hold the
// acceptor state, the recent-commits log, the largest version written and the sync state.
import { Level } from 'level';
import type { CommitRecord, Entry, SyncState } from '../protocol/schemas.js';
import type { Write } from '../transaction/types.js';
import { invariant } from '../errors/invariant.js';
import { TIMESTAMP_ZERO, type Timestamp } from '../timestamp/timestamp.js';
import type { AcceptorState } from '../view/acceptor.js';
import type { Member } from '../view/types.js';
import { COMMIT_KEYS_END, COMMIT_KEY_PREFIX, CommitLog, MAX_VERSION_KEY, decodeGroup, encodeGroup, maxVersionAfter, storedLogState, type CommitLogChange, type EncodedGroup, type LoggedApply } from './commit-log.js';
import { groupKeys, planGroup, planRecovery, type KeyedEntry } from './thomas.js';

export interface ScanEntry extends Entry {
  key: string;
}

export interface ScanPage {
  entries: ScanEntry[];
  /** True when no key follows the last one returned. */
  done: boolean;
}

/**
 * Where the database's Paxos acceptor keeps its state, beside the entries. Reserved keys start
 * with '!', which no entry name can (entry names start with a letter or '_'), so no APPLY can
 * write it and no read can ask for it.
 */
export const ACCEPTOR_KEY = '!acceptor';
/** Where the database keeps its sync state (database/sync-state.ts); absent means null, not joining. */
export const SYNC_KEY = '!sync';
/**
 * The least key an entry name can be ('A' is the smallest first character one may have): a
 * scan starts here, so it never returns a reserved key (they all sort before it).
 */
export const ENTRY_KEYS_START = 'A';

/** How many entries a clear deletes per synced batch: a bounded batch, and few syncs. */
const CLEAR_BATCH_KEYS = 10_000;

/** How many keys' stored entries the database keeps in memory. */
export const ENTRY_CACHE_MAX = 1_000_000;

/**
 * LevelDB's memtable size (its default is 4 MiB). Every write inserts into the memtable's
 * skip list, and a workload that rewrites few keys fills it with their old versions: at 4 MiB
 * the inserts were LevelDB's largest cost (bank, 16 clients: 2.4% of the machine's CPU in the
 * skip-list insert alone, 3.7% in LevelDB in all). A 256 KiB memtable is flushed more often
 * but stays small and in cache: 2.0% in all, and 7 of 10 paired rounds faster.
 */
const WRITE_BUFFER_BYTES = 256 * 1024;

export class Storage {
  /** Set while an APPLY runs: its read-then-write must not interleave with another APPLY. */
  private applying = false;
  /**
   * key -> stored entry, for keys this process has written or read: reads and the Thomas
   * rule are answered from memory, LevelDB only holds what is durable. This process is the
   * only writer of its directory, and an entry changes only when a batch is written, so the
   * cache is updated right after each batch, before any APPLY of it is acknowledged. It is
   * bounded, least recently used first out.
   */
  private readonly entryCache = new Map<string, Entry>();
  /** Counts the batches written: a LevelDB read that overlapped one does not fill the cache. */
  private batchesWritten = 0;
  /** Counts the clears, for the same reason: a read that overlapped one may have seen what it deleted. */
  private clears = 0;

  /** Synced batches written since the database opened. */
  get syncs(): number {
    return this.batchesWritten;
  }

  /** The largest version ever written here: by an APPLY (even one the Thomas rule kept nothing of) or a recovery. */
  get maxVersion(): Timestamp {
    return this.commitLog.maxVersion;
  }

  /** A read-only commit's timestamp (db.confirm) raises the largest version: in memory now, on disk with the next group. */
  observeVersion(ts: Timestamp): void {
    this.commitLog.observe(ts);
  }

  /** The sync state last written (database/sync-state.ts); null: not joining. */
  get syncState(): SyncState | null {
    return this.sync;
  }

  private constructor(
    private readonly db: Level<string, Entry>,
    /** The recent-commits log as stored (with the largest version), kept in memory. */
    private readonly commitLog: CommitLog,
    /** The sync state as stored, kept in memory. */
    private sync: SyncState | null,
  ) {}

  /**
   * Opens (creating it and its parent directories if missing) the LevelDB directory `dir`, and
   * loads its recent-commits log and largest version. LevelDB takes an exclusive lock on it;
   * `isLockedError` tells that failure apart.
   */
  static async open(dir: string): Promise<Storage> {
    const db = new Level<string, Entry>(dir, { valueEncoding: 'json', writeBufferSize: WRITE_BUFFER_BYTES });
    await db.open();
    try {
      const stored = await db.iterator<string, EncodedGroup | CommitRecord[]>({ gte: COMMIT_KEY_PREFIX, lt: COMMIT_KEYS_END, valueEncoding: 'json' }).all();
      const groups = stored.map(([key, value]) => [key, decodeGroup(value)] as const);
      const sync = (await db.get<string, SyncState>(SYNC_KEY, { valueEncoding: 'json' })) ?? null;
      return new Storage(db, storedLogState(groups) ? new CommitLog(groups) : new CommitLog(groups, await loadMaxVersion(db)), sync);
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  /** The stored entries of `keys`, positionally; a key never written is version zero without a value. */
  async read(keys: readonly string[]): Promise<Entry[]> {
    if (keys.length === 0) return [];
    const entries: (Entry | undefined)[] = keys.map((key) => this.entryCache.get(key));
    const missing = keys.filter((_, index) => entries[index] === undefined);
    if (missing.length > 0) {
      const batchesBefore = this.batchesWritten;
      const clearsBefore = this.clears;
      const stored: (Entry | undefined)[] = await this.db.getMany(missing);
      // A batch written or a clear made meanwhile may have changed these keys after LevelDB's
      // snapshot: then the answer is still a consistent past state, but must not be cached.
      const cacheable = this.batchesWritten === batchesBefore && this.clears === clearsBefore;
      let next = 0;
      for (let index = 0; index < keys.length; index++) {
        if (entries[index] !== undefined) continue;
        const entry = stored[next++] ?? { version: [TIMESTAMP_ZERO[0], TIMESTAMP_ZERO[1]] as [number, number] };
        entries[index] = entry;
        if (cacheable) this.cacheEntry(keys[index]!, entry);
      }
    }
    return entries as Entry[];
  }

  /** The stored versions of `keys`, positionally; a key never written is version zero. */
  async versions(keys: readonly string[]): Promise<Timestamp[]> {
    const entries = await this.read(keys);
    return entries.map((entry) => entry.version);
  }

  /**
   * Applies a committed transaction's writes with timestamp `ts`, coordinated by `from`,
   * under the Thomas write rule, as one atomic batch synced to disk; resolves only once the
   * batch is durable. Returns how many keys were written. The caller must not start another
   * APPLY before this one resolves.
   */
  async apply(ts: Timestamp, writes: readonly Write[], from: Member): Promise<number> {
    const [written] = await this.applyGroup([{ ts, writes, from }]);
    return written!;
  }

  /**
   * Group commit: applies several APPLYs, in the order given, as ONE atomic batch with one
   * sync. The plan (`planGroup`, the Thomas rule per key) is exactly the result of applying
   * them one after another; but the disk is synced once for all of them. The same batch
   * writes each APPLY's recent-commits record, trims the records its watermarks release and
   * raises the largest version: the entries and the record that they landed are durable
   * together or not at all. Returns how many keys each APPLY wrote.
   */
  async applyGroup(applies: readonly LoggedApply[]): Promise<number[]> {
    return this.exclusively(async () => {
      const { finalEntries, written } = planGroup(applies, await this.storedVersions(groupKeys(applies)));
      await this.writeBatch(finalEntries, this.commitLog.planGroup(applies));
      return written;
    });
  }

  /**
   * Recovery's write: `entries` under the Thomas rule key by key (each at its own version),
   * the records of the transactions `drop` names deleted, and the largest version raised, in
   * one synced batch. Returns how many entries were written and how many records deleted.
   */
  async recover(entries: readonly KeyedEntry[], drop: readonly Timestamp[]): Promise<{ written: number; dropped: number }> {
    return this.exclusively(async () => {
      const { finalEntries, written } = planRecovery(entries, await this.storedVersions(entries.map((entry) => entry.key)));
      const change = this.commitLog.planDrop(drop, entries.map((entry) => entry.version));
      await this.writeBatch(finalEntries, change);
      return { written, dropped: change.removed };
    });
  }

  /**
   * A page of a state transfer: `entries` of an in-sync replica under the Thomas rule key by
   * key, as a recovery writes them (an APPLY that reached this database first keeps its newer
   * version), and `records` of its recent-commits log added unless held already or below their
   * life's watermark (CommitLog.planTransfer), in one synced batch. Returns how many entries
   * were written and how many records added.
   */
  async transfer(entries: readonly KeyedEntry[], records: readonly CommitRecord[]): Promise<{ written: number; recorded: number }> {
    return this.exclusively(async () => {
      const { finalEntries, written } = planRecovery(entries, await this.storedVersions(entries.map((entry) => entry.key)));
      const change = this.commitLog.planTransfer(records, entries.map((entry) => entry.version));
      const recorded = [...change.puts.values()].reduce((count, group) => count + group.records.length, 0);
      await this.writeBatch(finalEntries, change);
      return { written, recorded };
    });
  }

  /**
   * Empties the store of a database that is to be brought up to date: every entry and every
   * recent-commits record goes; the acceptor state and the sync state stay, and so does the
   * largest version (CommitLog.planClear says why). The entries go first, in synced batches,
   * then the log in one last synced batch: a crash part way leaves a store that is partly
   * cleared, which the next clear finishes. Nothing else may write meanwhile.
   */
  async clear(): Promise<void> {
    return this.exclusively(async () => {
      const keys: string[] = [];
      // The iterator reads one snapshot; deleting behind it does not disturb it.
      for await (const key of this.db.keys({ gte: ENTRY_KEYS_START })) {
        keys.push(key);
        if (keys.length === CLEAR_BATCH_KEYS) await this.deleteSynced(keys.splice(0));
      }
      if (keys.length > 0) await this.deleteSynced(keys);
      await this.writeBatch(new Map(), this.commitLog.planClear());
    });
  }

  private async deleteSynced(keys: readonly string[]): Promise<void> {
    const batch = this.db.batch();
    for (const key of keys) batch.del(key);
    await batch.write({ sync: true });
    // Emptied at each batch, not once at the end: a read meanwhile must not find a deleted entry in it.
    this.clears += 1;
    this.entryCache.clear();
  }

  /** Writes the sync state, synced: it resolves only once the state is durable. Null deletes it. */
  async writeSyncState(state: SyncState | null): Promise<void> {
    if (state === null) await this.db.del(SYNC_KEY, { sync: true });
    else await this.db.put<string, SyncState>(SYNC_KEY, state, { valueEncoding: 'json', sync: true });
    this.sync = state === null ? null : { joiningSince: state.joiningSince, complete: state.complete };
  }

  /** The recent-commits records of every coordinator life not among `members`, by timestamp. */
  commits(members: readonly Member[]): CommitRecord[] {
    return this.commitLog.notIn(members);
  }

  /** Runs a write; two must never interleave their read-then-write. */
  private async exclusively<T>(write: () => Promise<T>): Promise<T> {
    invariant(!this.applying, 'two APPLYs ran at once on one database');
    this.applying = true;
    try {
      return await write();
    } finally {
      this.applying = false;
    }
  }

  private async storedVersions(keys: readonly string[]): Promise<Map<string, Timestamp>> {
    const entries = await this.read(keys);
    const versions = new Map<string, Timestamp>();
    for (let index = 0; index < keys.length; index++) versions.set(keys[index]!, entries[index]!.version);
    return versions;
  }

  /**
   * Writes entries and a change of the recent-commits log (which holds the largest version) as
   * one synced batch; then updates the caches. Every APPLY group writes one, even a group of
   * repeated APPLYs: their records must be durable before they are acknowledged.
   */
  private async writeBatch(finalEntries: ReadonlyMap<string, Entry>, change: CommitLogChange): Promise<void> {
    // A chained batch, not db.batch(array, options): the array form copies the options into
    // every operation (`{ ...options, ...operation }`), and on Node 20 an object made that way
    // and then changed costs microseconds per operation; with `{ sync }` given, a 5-put batch
    // cost the database's thread about 70 us instead of 25.
    const batch = this.db.batch();
    for (const [key, value] of finalEntries) batch.put(key, value);
    for (const [key, group] of change.puts) batch.put(key, asStoredJson(encodeGroup(group)));
    for (const key of change.deletes) batch.del(key);
    await batch.write({ sync: true });
    this.batchesWritten += 1;
    for (const [key, entry] of finalEntries) this.cacheEntry(key, entry);
    this.commitLog.commit(change);
  }

  private cacheEntry(key: string, entry: Entry): void {
    this.entryCache.delete(key);
    this.entryCache.set(key, entry);
    if (this.entryCache.size > ENTRY_CACHE_MAX) this.entryCache.delete(this.entryCache.keys().next().value as string);
  }

  /** Up to `limit` entries with keys after `after` (from the start when absent), in key order, tombstones included. */
  async scan(after: string | undefined, limit: number): Promise<ScanPage> {
    // One entry more than asked tells whether anything follows, without a second read.
    const range = after === undefined ? { gte: ENTRY_KEYS_START, limit: limit + 1 } : { gt: after, limit: limit + 1 };
    const rows = await this.db.iterator(range).all();
    const entries = rows.slice(0, limit).map(([key, entry]) => ({ key, ...entry }));
    return { entries, done: rows.length <= limit };
  }

  /**
   * Entries with a live value (the tombstones of deleted ones left out), counted up to `limit`
   * over one snapshot, for status and the metrics: it reads every entry, so callers keep the
   * answer a while.
   */
  async countKeys(limit: number): Promise<number> {
    let count = 0;
    const iterator = this.db.iterator<string, Entry>({ gte: ENTRY_KEYS_START });
    try {
      for (let page = await iterator.nextv(1_000); page.length > 0 && count < limit; page = await iterator.nextv(1_000)) {
        for (const [, entry] of page) if (entry.value !== undefined) count += 1;
      }
    } finally {
      await iterator.close();
    }
    return Math.min(count, limit);
  }

  /** The acceptor state last written, or null if this directory has never voted. */
  async readAcceptor(): Promise<AcceptorState | null> {
    const stored = await this.db.get<string, AcceptorState>(ACCEPTOR_KEY, { valueEncoding: 'json' });
    return stored ?? null;
  }

  /**
   * Writes the acceptor's whole state, synced: it resolves only once the state is durable, so
   * an answer sent after it is never forgotten by a restart. Not counted in `syncs`, which
   * counts APPLY groups.
   */
  async writeAcceptor(state: AcceptorState): Promise<void> {
    await this.db.put<string, AcceptorState>(ACCEPTOR_KEY, state, { valueEncoding: 'json', sync: true });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/**
 * A reserved key's value, put into a batch typed for entries. The database's value encoding
 * is JSON for every key, so it is stored as JSON like an entry; giving the encoding per put
 * instead (`{ valueEncoding: 'json' }`) cost each record about 10 us of the database's thread.
 */
function asStoredJson(value: EncodedGroup): Entry {
  return value as unknown as Entry;
}

/**
 * The largest version written, for a directory whose log holds no state: where it was kept
 * beside the entries before, and before that nowhere: then its largest entry version, found
 * once by reading every entry.
 */
async function loadMaxVersion(db: Level<string, Entry>): Promise<Timestamp> {
  const stored = await db.get<string, Timestamp>(MAX_VERSION_KEY, { valueEncoding: 'json' });
  if (stored !== undefined) return stored;
  let max: Timestamp = TIMESTAMP_ZERO;
  for await (const entry of db.values({ gte: ENTRY_KEYS_START })) max = maxVersionAfter(max, [entry.version]);
  return max;
}

/** True when opening failed because another process (or instance) holds the directory's lock. */
export function isLockedError(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return (error as { code?: unknown } | null)?.code === 'LEVEL_DATABASE_NOT_OPEN' && cause?.code === 'LEVEL_LOCKED';
}
