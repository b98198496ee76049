// A database store in memory, for the in-process cluster: the same interface as the LevelDB
// store (database/storage.ts), and the production group plan (Thomas rule) for every write.
import type { DatabaseStore } from '../../database/server.js';
import type { ScanPage } from '../../database/storage.js';
import { groupKeys, planGroup, type GroupApply } from '../../database/thomas.js';
import type { Entry } from '../../protocol/schemas.js';
import { TIMESTAMP_ZERO, type Timestamp } from '../../timestamp/timestamp.js';
import type { AcceptorState } from '../../view/acceptor.js';

export class MemoryStore implements DatabaseStore {
  private readonly entries = new Map<string, Entry>();
  private groupsWritten = 0;
  /** Kept as JSON, as LevelDB keeps it, so a later change to the caller's object is not stored. */
  private acceptor: string | null = null;

  get syncs(): number {
    return this.groupsWritten;
  }

  async read(keys: readonly string[]): Promise<Entry[]> {
    return keys.map((key) => this.entries.get(key) ?? { version: [TIMESTAMP_ZERO[0], TIMESTAMP_ZERO[1]] });
  }

  async versions(keys: readonly string[]): Promise<Timestamp[]> {
    return (await this.read(keys)).map((entry) => entry.version);
  }

  async applyGroup(applies: readonly GroupApply[]): Promise<number[]> {
    const keys = groupKeys(applies);
    const stored = new Map(keys.map((key): [string, Timestamp] => [key, this.entries.get(key)?.version ?? TIMESTAMP_ZERO]));
    const plan = planGroup(applies, stored);
    for (const [key, entry] of plan.finalEntries) this.entries.set(key, entry);
    if (plan.finalEntries.size > 0) this.groupsWritten += 1;
    return plan.written;
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
}
