// A database store in memory, for the in-process cluster: the same interface as the LevelDB
// store (database/storage.ts), and the production rules for every write: the group plan
// (Thomas rule), the recovery plan, the recent-commits log, and the clear and state transfer
// of a database being brought up to date.
import { CommitLog, type CommitLogChange, type LoggedApply } from '../../database/commit-log.js';
import type { DatabaseStore } from '../../database/server.js';
import type { ScanPage } from '../../database/storage.js';
import { groupKeys, planGroup, planRecovery, type KeyedEntry } from '../../database/thomas.js';
import type { CommitRecord, Entry, SyncState } from '../../protocol/schemas.js';
import { TIMESTAMP_ZERO, type Timestamp } from '../../timestamp/timestamp.js';
import type { AcceptorState } from '../../view/acceptor.js';
import type { Member } from '../../view/types.js';

export class MemoryStore implements DatabaseStore {
  private readonly entries = new Map<string, Entry>();
  private readonly commitLog = new CommitLog();
  private groupsWritten = 0;
  /** Kept as JSON, as LevelDB keeps it, so a later change to the caller's object is not stored. */
  private acceptor: string | null = null;
  private sync: string | null = null;

  get syncs(): number {
    return this.groupsWritten;
  }

  get maxVersion(): Timestamp {
    return this.commitLog.maxVersion;
  }

  observeVersion(ts: Timestamp): void {
    this.commitLog.observe(ts);
  }

  async read(keys: readonly string[]): Promise<Entry[]> {
    return keys.map((key) => this.entries.get(key) ?? { version: [TIMESTAMP_ZERO[0], TIMESTAMP_ZERO[1]] });
  }

  async versions(keys: readonly string[]): Promise<Timestamp[]> {
    return (await this.read(keys)).map((entry) => entry.version);
  }

  async applyGroup(applies: readonly LoggedApply[]): Promise<number[]> {
    const plan = planGroup(applies, this.storedVersions(groupKeys(applies)));
    this.write(plan.finalEntries, this.commitLog.planGroup(applies));
    return plan.written;
  }

  async recover(entries: readonly KeyedEntry[], drop: readonly Timestamp[]): Promise<{ written: number; dropped: number }> {
    const plan = planRecovery(entries, this.storedVersions(entries.map((entry) => entry.key)));
    const change = this.commitLog.planDrop(drop, entries.map((entry) => entry.version));
    this.write(plan.finalEntries, change);
    return { written: plan.written, dropped: change.removed };
  }

  async transfer(entries: readonly KeyedEntry[], records: readonly CommitRecord[]): Promise<{ written: number; recorded: number }> {
    const plan = planRecovery(entries, this.storedVersions(entries.map((entry) => entry.key)));
    const change = this.commitLog.planTransfer(records, entries.map((entry) => entry.version));
    const recorded = [...change.puts.values()].reduce((count, group) => count + group.records.length, 0);
    this.write(plan.finalEntries, change);
    return { written: plan.written, recorded };
  }

  async clear(): Promise<void> {
    this.entries.clear();
    this.write(new Map(), this.commitLog.planClear());
  }

  get syncState(): SyncState | null {
    return this.sync === null ? null : JSON.parse(this.sync) as SyncState;
  }

  async writeSyncState(state: SyncState | null): Promise<void> {
    this.sync = state === null ? null : JSON.stringify(state);
  }

  commits(members: readonly Member[]): CommitRecord[] {
    return this.commitLog.notIn(members);
  }

  async readAcceptor(): Promise<AcceptorState | null> {
    return this.acceptor === null ? null : JSON.parse(this.acceptor) as AcceptorState;
  }

  async writeAcceptor(state: AcceptorState): Promise<void> {
    this.acceptor = JSON.stringify(state);
  }

  async scan(after: string | undefined, limit: number): Promise<ScanPage> {
    const keys = [...this.entries.keys()].sort().filter((key) => after === undefined || key > after);
    return { entries: keys.slice(0, limit).map((key) => ({ key, ...this.entries.get(key)! })), done: keys.length <= limit };
  }

  private storedVersions(keys: readonly string[]): Map<string, Timestamp> {
    return new Map(keys.map((key): [string, Timestamp] => [key, this.entries.get(key)?.version ?? TIMESTAMP_ZERO]));
  }

  /** What one synced LevelDB batch does, all at once. */
  private write(finalEntries: ReadonlyMap<string, Entry>, change: CommitLogChange): void {
    for (const [key, entry] of finalEntries) this.entries.set(key, entry);
    this.commitLog.commit(change);
    this.groupsWritten += 1;
  }
}

/** A memory store whose APPLY groups wait for `release` and that logs what it writes, in order. */
export class GatedStore extends MemoryStore {
  readonly log: string[] = [];
  private gate: Promise<void> = Promise.resolve();
  release: () => void = () => {};

  hold(): void {
    this.gate = new Promise((resolve) => { this.release = resolve; });
  }

  override async applyGroup(applies: readonly LoggedApply[]): Promise<number[]> {
    await this.gate;
    this.log.push(`group ${applies.map((apply) => apply.ts[0]).join(',')}`);
    return super.applyGroup(applies);
  }

  override async writeAcceptor(...args: Parameters<MemoryStore['writeAcceptor']>): Promise<void> {
    this.log.push('acceptor');
    return super.writeAcceptor(...args);
  }

  override async clear(): Promise<void> {
    this.log.push('clear');
    return super.clear();
  }

  override async writeSyncState(...args: Parameters<MemoryStore['writeSyncState']>): Promise<void> {
    this.log.push(`sync ${JSON.stringify(args[0])}`);
    return super.writeSyncState(...args);
  }
}
