// A database replica for the seeded simulator, in memory, built on the production rules: the
// Thomas rule and the group plan (database/thomas.ts) decide what is stored, and the read
// rules (database/read-rules.ts) decide what a read sees and how long it waits. Only what the
// production server does with I/O is simulated here: LevelDB is a map, a group's batch and
// sync take a random virtual delay, and waits are events on the simulator's scheduler.
//
// As in production (database/request-queue.ts), APPLYs are admitted the moment they arrive
// and are visible to reads at once as committed writes; they are written in groups, one at a
// time: the APPLYs admitted while a group is being written form the next group.
import { AdmittedWrites, atLeastReached, type AdmittedWrite } from '../../database/read-rules.js';
import { groupKeys, planGroup, type GroupApply } from '../../database/thomas.js';
import type { Entry } from '../../protocol/schemas.js';
import type { Timestamp } from '../../timestamp/timestamp.js';
import type { Key } from '../../transaction/types.js';

/** Virtual time as a replica needs it: run something after a delay. */
export interface SimulationScheduler {
  schedule(delayMs: number, run: () => void): void;
}

/** The simulation's seeded randomness (test/simulation/random.ts's Random fits). */
export interface SimulationRandom {
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
}

/** A rule a replica can be built to break on purpose, to show that a test catches its absence. */
export type ReplicaRule =
  /** Each write is stored as it comes, the last one to arrive wins. */
  | 'thomas'
  /** Reads see only what is stored, not the writes of admitted APPLYs. */
  | 'overlay'
  /** A version re-read answers at once, even of a key an admitted APPLY writes. */
  | 'version-wait'
  /** An at-least read answers at once, whatever its versions. */
  | 'at-least-wait';

export interface SimulatedReplicaOptions {
  /** The longest a group's write (the versions read, the batch and its sync) takes, in virtual ms; each takes from 1 to this. */
  syncDelayMsMax?: number;
  /** A rule this replica breaks (a deliberate fault); none by default. */
  brokenRule?: ReplicaRule;
}

const SYNC_DELAY_MS_MAX_DEFAULT = 5;

/** APPLYs admitted together and written as one batch with one sync. */
interface Group {
  applies: GroupApply[];
  /** The admitted writes of each APPLY, positionally, to forget once the group is written. */
  admitted: AdmittedWrite[][];
  /** Each `apply` call of the group: where its APPLYs start in `applies`, how many, and whom to tell. */
  callers: Array<{ first: number; count: number; done: (written: number[]) => void }>;
  /** Version re-reads waiting for this group, and so for every group before it, to be written. */
  afterWritten: Array<() => void>;
}

interface AtLeastRead {
  keys: readonly Key[];
  atLeast: ReadonlyArray<readonly [Key, Timestamp]>;
  done: (entries: Entry[]) => void;
}

/**
 * One simulated DATABASE. Its answers come through callbacks: at once when the answer is
 * ready (a plain read, a version re-read of keys no admitted APPLY writes), else from a
 * scheduled event, or from inside `apply` when an admitted APPLY brings what an at-least read
 * waits for. Entries handed out are the replica's own: callers must not change them.
 */
export class SimulatedReplica {
  private readonly storedEntries = new Map<Key, Entry>();
  private readonly admittedWrites = new AdmittedWrites();
  /** The group being written, if any. */
  private writing: Group | null = null;
  /** The APPLYs admitted while `writing` is written: the next group. */
  private forming: Group | null = null;
  private readonly atLeastReads = new Set<AtLeastRead>();
  /** Counts crashes: an event scheduled before a crash finds it changed and does nothing. */
  private life = 0;
  private readonly syncDelayMsMax: number;
  private readonly brokenRule: ReplicaRule | undefined;
  private groupCount = 0;

  constructor(readonly id: number, private readonly scheduler: SimulationScheduler, private readonly random: SimulationRandom, options: SimulatedReplicaOptions = {}) {
    this.syncDelayMsMax = options.syncDelayMsMax ?? SYNC_DELAY_MS_MAX_DEFAULT;
    if (!(this.syncDelayMsMax >= 1)) throw new Error(`replica ${id}: syncDelayMsMax must be at least 1, not ${this.syncDelayMsMax}`);
    this.brokenRule = options.brokenRule;
  }

  /** Groups written since the replica was made. */
  get groupsWritten(): number {
    return this.groupCount;
  }

  /**
   * Admits APPLYs now, in the order given (one `db.apply` is one, a `db.apply-batch` several):
   * their writes are visible to reads at once. They are written in one group, with the other
   * APPLYs admitted until the group's write starts: at once if no group is being written, else
   * when the one being written is stored. `done` gets each APPLY's written count, positionally,
   * once its group is stored, and is never called if the replica crashes first.
   */
  apply(applies: readonly GroupApply[], done: (written: number[]) => void): void {
    if (applies.length === 0) throw new Error(`replica ${this.id}: an apply of no APPLY (a db.apply-batch has at least one)`);
    const group = (this.forming ??= { applies: [], admitted: [], callers: [], afterWritten: [] });
    group.callers.push({ first: group.applies.length, count: applies.length, done });
    for (const apply of applies) {
      group.applies.push(apply);
      group.admitted.push(this.admittedWrites.add(apply.ts, apply.writes));
    }
    if (!this.writing) this.startWriting();
    this.answerAtLeastReads();
  }

  /**
   * The production read (`db.read`): the committed state of `keys`, stored entries with the
   * newest admitted writes over them. With `atLeast` versions and `waitMs` > 0, it is answered
   * once every version is reached (checked again whenever an APPLY is admitted or a group
   * written) or when `waitMs` has passed, with what there is then.
   */
  read(keys: readonly Key[], atLeast: ReadonlyArray<readonly [Key, Timestamp]>, waitMs: number, done: (entries: Entry[]) => void): void {
    const entries = this.committedEntries(keys);
    if (atLeast.length === 0 || waitMs <= 0 || this.brokenRule === 'at-least-wait' || atLeastReached(keys, entries, atLeast)) {
      done(entries);
      return;
    }
    const read: AtLeastRead = { keys, atLeast, done };
    this.atLeastReads.add(read);
    const life = this.life;
    this.scheduler.schedule(waitMs, () => {
      if (life !== this.life || !this.atLeastReads.delete(read)) return;
      read.done(this.committedEntries(read.keys));
    });
  }

  /**
   * The version re-read (`db.versions`): the stored versions of `keys`. When an admitted APPLY
   * writes one of them, it waits until every group admitted so far is stored, as production
   * does; APPLYs admitted after it arrived are not waited for.
   */
  versions(keys: readonly Key[], done: (versions: Timestamp[]) => void): void {
    if (this.brokenRule !== 'version-wait' && this.admittedWrites.versionReadMustWait(keys)) {
      const last = this.forming ?? this.writing;
      if (!last) throw new Error(`replica ${this.id}: a key has an admitted write but no group holds it`);
      last.afterWritten.push(() => done(this.storedVersions(keys)));
      return;
    }
    done(this.storedVersions(keys));
  }

  /** What is stored: the written groups only, for convergence checks. */
  stored(): ReadonlyMap<Key, Entry> {
    return this.storedEntries;
  }

  /**
   * A crash and restart: what is stored stays; the group being written is lost whole (its
   * batch never synced, and a LevelDB batch is atomic) with every APPLY admitted after it; none
   * of them is acknowledged; reads waiting are never answered, as their connections closed.
   */
  crash(): void {
    this.life += 1;
    for (const group of [this.writing, this.forming]) {
      if (group) for (const admitted of group.admitted) this.admittedWrites.remove(admitted);
    }
    this.writing = null;
    this.forming = null;
    this.atLeastReads.clear();
    if (this.admittedWrites.keyCount !== 0) throw new Error(`replica ${this.id}: admitted writes outlived the crash`);
  }

  private startWriting(): void {
    const group = this.forming;
    if (!group || this.writing) throw new Error(`replica ${this.id}: a group started while another was written, or with nothing admitted`);
    this.forming = null;
    this.writing = group;
    const life = this.life;
    this.scheduler.schedule(this.random.int(1, this.syncDelayMsMax), () => {
      if (life === this.life) this.finishWriting(group);
    });
  }

  /** The group's batch is synced: store it, forget its admitted writes, start the next group, then answer. */
  private finishWriting(group: Group): void {
    const written = this.store(group.applies);
    for (const admitted of group.admitted) this.admittedWrites.remove(admitted);
    this.writing = null;
    this.groupCount += 1;
    if (this.forming) this.startWriting();
    for (const caller of group.callers) caller.done(written.slice(caller.first, caller.first + caller.count));
    for (const answer of group.afterWritten) answer();
    this.answerAtLeastReads();
  }

  /** Stores a group as production's Storage.applyGroup does: one plan over the stored versions of its keys. */
  private store(applies: readonly GroupApply[]): number[] {
    if (this.brokenRule === 'thomas') return applies.map(({ ts, writes }) => this.storeBlindly(ts, writes));
    const keys = groupKeys(applies);
    const storedVersions = new Map<Key, Timestamp>();
    for (const key of keys) {
      const entry = this.storedEntries.get(key);
      if (entry) storedVersions.set(key, entry.version);
    }
    const { finalEntries, written } = planGroup(applies, storedVersions);
    for (const [key, entry] of finalEntries) this.storedEntries.set(key, entry);
    return written;
  }

  /** The deliberate fault 'thomas': every write is stored over whatever is there. */
  private storeBlindly(ts: Timestamp, writes: GroupApply['writes']): number {
    const keys = new Set<Key>();
    for (const write of writes) {
      keys.add(write.key);
      this.storedEntries.set(write.key, write.value === undefined ? { version: [ts[0], ts[1]] } : { version: [ts[0], ts[1]], value: write.value });
    }
    return keys.size;
  }

  private answerAtLeastReads(): void {
    for (const read of this.atLeastReads) {
      const entries = this.committedEntries(read.keys);
      if (!atLeastReached(read.keys, entries, read.atLeast)) continue;
      this.atLeastReads.delete(read);
      read.done(entries);
    }
  }

  /** As production's Storage.read and RequestQueue.readCommitted: stored entries, a key never written as version zero, the admitted writes over them. */
  private committedEntries(keys: readonly Key[]): Entry[] {
    const stored = keys.map((key) => this.storedEntries.get(key) ?? { version: [0, 0] as [number, number] });
    return this.brokenRule === 'overlay' ? stored : this.admittedWrites.committedEntries(keys, stored);
  }

  private storedVersions(keys: readonly Key[]): Timestamp[] {
    return keys.map((key) => this.storedEntries.get(key)?.version ?? [0, 0]);
  }
}
