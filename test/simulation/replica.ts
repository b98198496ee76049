// A database replica for the seeded simulator, in memory, built on the production rules: the
// Thomas rule and the group plan (database/thomas.ts) decide what is stored, and the read
// rules (database/read-rules.ts) decide what a read sees and how long it waits. Only what the
// production server does with I/O is simulated here: LevelDB is a map, a group's batch and
// sync take a random virtual delay, and waits are events on the simulator's scheduler.
//
// As in production (database/request-queue.ts), APPLYs are admitted the moment they arrive
// and are visible to reads at once as committed writes; they are written in groups, one at a
// time: the APPLYs admitted while a group is being written form the next group.
//
// With views (the OCC simulation), the replica is also what database/server.ts makes of a
// database: the Paxos acceptor (view/acceptor.ts, its state "synced" before each answer), its
// votes run as steps in the line of groups (request-queue.ts `step`), fencing
// (database/fencing.ts: an APPLY checked when admitted and again when its group is written, a
// read when it arrives and before it is answered), the recent-commits log
// (database/commit-log.ts) written in each group, recovery (planRecovery, planDrop), and the
// database side of state transfer (database/sync-state.ts): the clear as it accepts a view that
// newly lists it as joining, db.transfer and db.transfer-done.
import { CommitLog, maxVersionAfter, type LoggedApply } from '../../database/commit-log.js';
import { admits, fenceView } from '../../database/fencing.js';
import { AdmittedWrites, atLeastReached, type AdmittedWrite } from '../../database/read-rules.js';
import { sameSyncState, syncOnAccept, syncOnChosen, transferDoneRefusal, transferRefusal } from '../../database/sync-state.js';
import { groupKeys, planGroup, planRecovery, type GroupApply, type KeyedEntry } from '../../database/thomas.js';
import type { CommitRecord, Entry, SyncState } from '../../protocol/schemas.js';
import { formatTimestamp, TIMESTAMP_ZERO, type Timestamp } from '../../timestamp/timestamp.js';
import type { Key } from '../../transaction/types.js';
import { Acceptor, type AcceptorEffect, type AcceptorEvent, type AcceptorState } from '../../view/acceptor.js';
import type { Member, View } from '../../view/types.js';

/** Virtual time as a replica needs it: run something after a delay. */
export interface SimulationScheduler {
  schedule(delayMs: number, run: () => void): void;
  /** Virtual time now (only the view-keeping replica asks). */
  readonly nowMs?: number;
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
  | 'at-least-wait'
  /** A database that newly becomes joining keeps its store (and its records) instead of clearing them. */
  | 'skip-clear';

export interface SimulatedReplicaOptions {
  /** The longest a group's write (the versions read, the batch and its sync) takes, in virtual ms; each takes from 1 to this. */
  syncDelayMsMax?: number;
  /** A rule this replica breaks (a deliberate fault); none by default. */
  brokenRule?: ReplicaRule;
  /** The view of epoch 0: the replica is an acceptor and fences (database/server.ts). Without it, neither. */
  initialView?: View;
  /** DatabaseFaults.skipFencing: APPLYs and reads from any middleware life are served. */
  skipFencing?: boolean;
}

const SYNC_DELAY_MS_MAX_DEFAULT = 5;

/** FENCED, as the database answers a request from a life its fence view leaves out. */
export interface Refusal {
  code: 'FENCED';
  message: string;
}

/** NOT_JOINING, as the database answers a state transfer it does not take. */
export interface TransferRefusal {
  code: 'NOT_JOINING';
  message: string;
}

/** One `apply` call: its APPLYs (positions in the group) and whom to tell. */
interface Caller {
  first: number;
  count: number;
  done: (written: number[]) => void;
  refused?: (refusal: Refusal) => void;
}

/** APPLYs admitted together and written as one batch with one sync. */
interface Group {
  kind: 'group';
  started: boolean;
  applies: Array<GroupApply & { from?: Member; watermark?: number }>;
  /** The admitted writes of each APPLY, positionally, to forget once the group is written. */
  admitted: AdmittedWrite[][];
  callers: Caller[];
  /** Version re-reads waiting for this group, and so for every group before it, to be written. */
  afterWritten: Array<() => void>;
}

/** A request that runs alone in the line (request-queue.ts `step`): a vote, db.commits, db.recover. */
interface Step {
  kind: 'step';
  run: (done: () => void) => void;
}

interface AtLeastRead {
  keys: readonly Key[];
  atLeast: ReadonlyArray<readonly [Key, Timestamp]>;
  done: (entries: Entry[]) => void;
}

/** An APPLY written here, for the checks after a run. */
export interface WrittenApply {
  ts: Timestamp;
  from: Member;
  /** Index into `fenceHistory` of the fence view in force when it was written. */
  fenceIndex: number;
  atMs: number;
}

/** A read or request that carries the middleware life it is from (fenced). */
export interface FencedBy {
  member: Member;
  refused: (refusal: Refusal) => void;
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
  /** Groups and steps in arrival order; the head runs when `running`. */
  private line: Array<Group | Step> = [];
  private running = false;
  private readonly atLeastReads = new Set<AtLeastRead>();
  /** Counts crashes: an event scheduled before a crash finds it changed and does nothing. */
  private life = 0;
  private readonly syncDelayMsMax: number;
  private readonly brokenRule: ReplicaRule | undefined;
  private groupCount = 0;
  private readonly commitLog = new CommitLog();
  private largestVersion: Timestamp = TIMESTAMP_ZERO;
  /** Read-only commits' timestamps confirmed here since the last group was stored (memory only). */
  private observedVersion: Timestamp = TIMESTAMP_ZERO;
  private acceptor: Acceptor | null = null;
  /** The acceptor state last "synced": what fences, and what db.view answers. */
  private durable: AcceptorState | null = null;
  /** The sync state last "synced" (database/sync-state.ts); null: not joining. */
  private sync: SyncState | null = null;
  private readonly skipFencing: boolean;
  /** Every fence view this database had, in order (a new one each time it changed). */
  readonly fenceHistory: View[] = [];
  /** Every APPLY written here with its coordinator, in order. */
  readonly writtenApplies: WrittenApply[] = [];
  /** Every acceptor state made durable, with when: what this acceptor accepted and learned. */
  readonly acceptorLog: Array<{ atMs: number; state: AcceptorState }> = [];
  /** When each clear happened (or, with the broken rule 'skip-clear', was due): what was written before is gone. */
  readonly clearedAtMs: number[] = [];
  /** The records each recovery dropped here: transactions recovery found, so committed (formatted timestamps). */
  readonly recoveredTs = new Set<string>();
  /** Epoch -> when the first APPLY sent for that view's databases was admitted here (`apply`'s `from.viewEpoch`). */
  readonly firstAdmittedForEpoch = new Map<number, number>();
  /** Every sync state made durable, with when (the first is null, at the start). */
  readonly syncLog: Array<{ atMs: number; sync: SyncState | null }> = [{ atMs: 0, sync: null }];

  constructor(readonly id: number, private readonly scheduler: SimulationScheduler, private readonly random: SimulationRandom, options: SimulatedReplicaOptions = {}) {
    this.syncDelayMsMax = options.syncDelayMsMax ?? SYNC_DELAY_MS_MAX_DEFAULT;
    if (!(this.syncDelayMsMax >= 1)) throw new Error(`replica ${id}: syncDelayMsMax must be at least 1, not ${this.syncDelayMsMax}`);
    this.brokenRule = options.brokenRule;
    this.skipFencing = options.skipFencing ?? false;
    if (options.initialView) {
      this.acceptor = Acceptor.start(options.initialView);
      this.durable = this.acceptor.snapshot();
      this.fenceHistory.push(fenceView(this.durable));
    }
  }

  /** Groups written since the replica was made. */
  get groupsWritten(): number {
    return this.groupCount;
  }

  /** The acceptor state as last synced (null without views). */
  get acceptorState(): AcceptorState | null {
    return this.durable;
  }

  /** Where the replica stands in being brought up to date, as synced. */
  get syncState(): SyncState | null {
    return this.sync;
  }

  /** The recent-commits records held now. */
  get commitRecords(): number {
    return this.commitLog.size;
  }

  /**
   * Admits APPLYs now, in the order given (one `db.apply` is one, a `db.apply-batch` several):
   * their writes are visible to reads at once. They are written in one group, with the other
   * APPLYs admitted until the group's write starts: at once if nothing is being written, else
   * when what is ahead in the line is done. `done` gets each APPLY's written count,
   * positionally, once its group is stored, and is never called if the replica crashes first.
   * `from`: the batch's coordinator life (with its watermark): fenced when admitted and when
   * its group is written; `refused` is told instead of `done` if either refuses.
   */
  apply(applies: readonly GroupApply[], done: (written: number[]) => void, from?: FencedBy & { watermark?: number; viewEpoch?: number }): void {
    if (applies.length === 0) throw new Error(`replica ${this.id}: an apply of no APPLY (a db.apply-batch has at least one)`);
    if (from) {
      const refusal = this.fenceRefusal(from.member);
      if (refusal) return from.refused(refusal);
      if (from.viewEpoch !== undefined && !this.firstAdmittedForEpoch.has(from.viewEpoch)) this.firstAdmittedForEpoch.set(from.viewEpoch, this.scheduler.nowMs ?? 0);
    }
    const last = this.line[this.line.length - 1];
    let group: Group;
    if (last && last.kind === 'group' && !last.started) group = last;
    else {
      group = { kind: 'group', started: false, applies: [], admitted: [], callers: [], afterWritten: [] };
      this.line.push(group);
    }
    group.callers.push({ first: group.applies.length, count: applies.length, done, ...(from ? { refused: from.refused } : {}) });
    for (const apply of applies) {
      group.applies.push(from ? { ...apply, from: from.member, ...(from.watermark !== undefined ? { watermark: from.watermark } : {}) } : apply);
      group.admitted.push(this.admittedWrites.add(apply.ts, apply.writes));
    }
    this.runNext();
    this.answerAtLeastReads();
  }

  /**
   * The production read (`db.read`): the committed state of `keys`, stored entries with the
   * newest admitted writes over them. With `atLeast` versions and `waitMs` > 0, it is answered
   * once every version is reached (checked again whenever an APPLY is admitted or a group
   * written) or when `waitMs` has passed, with what there is then. Fenced by `from` when it
   * arrives and again when it is answered.
   */
  read(keys: readonly Key[], atLeast: ReadonlyArray<readonly [Key, Timestamp]>, waitMs: number, done: (entries: Entry[]) => void, from?: FencedBy): void {
    if (from) {
      const refusal = this.fenceRefusal(from.member);
      if (refusal) return from.refused(refusal);
      const inner = done;
      done = (entries) => {
        const late = this.fenceRefusal(from.member);
        if (late) from.refused(late);
        else inner(entries);
      };
    }
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
  versions(keys: readonly Key[], done: (versions: Timestamp[]) => void, from?: FencedBy): void {
    if (from) {
      const refusal = this.fenceRefusal(from.member);
      if (refusal) return from.refused(refusal);
      const inner = done;
      done = (versions) => {
        const late = this.fenceRefusal(from.member);
        if (late) from.refused(late);
        else inner(versions);
      };
    }
    if (this.brokenRule !== 'version-wait' && this.admittedWrites.versionReadMustWait(keys)) {
      const last = [...this.line].reverse().find((task): task is Group => task.kind === 'group');
      if (!last) throw new Error(`replica ${this.id}: a key has an admitted write but no group holds it`);
      last.afterWritten.push(() => done(this.storedVersions(keys)));
      return;
    }
    done(this.storedVersions(keys));
  }

  /**
   * `db.confirm`: whether `from` is still admitted, by the acceptor state synced now (not behind
   * the groups); the read-only commit's `ts` raises the largest version in memory, stored with
   * the next group (lost in a crash before it), as production's CommitLog.observe.
   */
  confirm(from: FencedBy, ts: Timestamp, done: () => void): void {
    const refusal = this.fenceRefusal(from.member);
    if (refusal) return from.refused(refusal);
    this.observedVersion = maxVersionAfter(this.observedVersion, [ts]);
    done();
  }

  /** `db.view`: the newest chosen view known, the accepted value and the sync state, as synced. */
  view(done: (answer: { chosen: View; accepted: AcceptorState['accepted']; sync: SyncState | null }) => void): void {
    const state = this.requireAcceptor();
    done({ chosen: state.chosen, accepted: state.accepted, sync: this.sync });
  }

  /**
   * `db.scan`: up to `limit` stored entries (tombstones included) in key order, after `after`
   * if given, and whether that was the last of them; as database/storage.ts `scan`, from what
   * is stored, not behind the groups being written.
   */
  scan(after: Key | undefined, limit: number, done: (answer: { entries: KeyedEntry[]; done: boolean }) => void): void {
    const keys = [...this.storedEntries.keys()].filter((key) => after === undefined || key > after).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const entries = keys.slice(0, limit).map((key) => ({ key, ...this.storedEntries.get(key)! }) as KeyedEntry);
    done({ entries, done: keys.length <= limit });
  }

  /**
   * `db.prepare`, `db.accept`, `db.chosen`: one acceptor event as a step in the line, after
   * every APPLY admitted before it; its state synced (a random delay) before the answer.
   */
  vote(event: AcceptorEvent, done: (answer: Exclude<AcceptorEffect, { type: 'persist' }> | undefined, chosenEpoch: number) => void): void {
    this.requireAcceptor();
    this.step((finished) => {
      let answer: Exclude<AcceptorEffect, { type: 'persist' }> | undefined;
      let persisted: AcceptorState | null = null;
      for (const effect of this.acceptor!.handle(event)) {
        if (effect.type === 'persist') persisted = effect.state;
        else answer = effect;
      }
      const reply = (): void => {
        finished();
        done(answer, this.durable!.chosen.epoch);
      };
      if (!persisted) return reply();
      const state = persisted;
      this.afterSync(() => {
        // As database/server.ts: the clear and the sync state are durable before the acceptor state.
        this.syncBeforePersisting(event);
        this.durable = state;
        this.acceptorLog.push({ atMs: this.scheduler.nowMs ?? 0, state });
        const fence = fenceView(state);
        if (fence !== this.fenceHistory[this.fenceHistory.length - 1]) this.fenceHistory.push(fence);
        reply();
      });
    });
  }

  /** `db.commits`: a step; the records of every coordinator life not among `members`, and the largest version. */
  commits(from: FencedBy, members: readonly Member[], done: (answer: { records: CommitRecord[]; maxVersion: Timestamp }) => void): void {
    this.step((finished) => {
      finished();
      const refusal = this.fenceRefusal(from.member);
      if (refusal) return from.refused(refusal);
      done({ records: this.commitLog.notIn(members), maxVersion: maxVersionAfter(this.largestVersion, [this.observedVersion]) });
    });
  }

  /** `db.recover`: a step; `entries` under the Thomas rule, the records `drop` names deleted, in one synced batch. */
  recover(from: FencedBy, entries: ReadonlyArray<Omit<KeyedEntry, 'version'> & { version: Timestamp }>, drop: readonly Timestamp[], done: () => void): void {
    this.step((finished) => {
      const refusal = this.fenceRefusal(from.member);
      if (refusal) {
        finished();
        return from.refused(refusal);
      }
      this.afterSync(() => {
        const plan = planRecovery(entries as readonly KeyedEntry[], this.storedVersionMap(entries.map((entry) => entry.key)));
        for (const [key, entry] of plan.finalEntries) this.storedEntries.set(key, entry);
        this.commitLog.commit(this.commitLog.planDrop(drop, entries.map((entry) => entry.version)));
        for (const ts of drop) this.recoveredTs.add(formatTimestamp(ts));
        this.largestVersion = maxVersionAfter(this.largestVersion, entries.map((entry) => entry.version));
        finished();
        done();
        this.answerAtLeastReads();
      });
    });
  }

  /**
   * `db.transfer`: a step; an in-sync replica's `entries` under the Thomas rule and its
   * `records` unless held or below their life's watermark, in one synced batch. Refused with
   * FENCED, or NOT_JOINING unless the replica is joining and its transfer not complete.
   */
  transfer(from: FencedBy, entries: readonly KeyedEntry[], records: readonly CommitRecord[], done: (answer: { written: number; recorded: number }) => void, notJoining: (refusal: TransferRefusal) => void): void {
    this.step((finished) => {
      const refusal = this.fenceRefusal(from.member) ?? this.notJoining(transferRefusal(`DATABASE${this.id}`, this.sync));
      if (refusal) {
        finished();
        return refusal.code === 'FENCED' ? from.refused(refusal) : notJoining(refusal);
      }
      this.afterSync(() => {
        const plan = planRecovery(entries, this.storedVersionMap(entries.map((entry) => entry.key)));
        for (const [key, entry] of plan.finalEntries) this.storedEntries.set(key, entry);
        const change = this.commitLog.planTransfer(records, entries.map((entry) => entry.version));
        const recorded = [...change.puts.values()].reduce((count, group) => count + group.records.length, 0);
        this.commitLog.commit(change);
        this.largestVersion = maxVersionAfter(maxVersionAfter(this.largestVersion, entries.map((entry) => entry.version)), records.map((record) => record.ts));
        finished();
        done({ written: plan.written, recorded });
        this.answerAtLeastReads();
      });
    });
  }

  /** `db.transfer-done`: a step; records the transfer for the joining of `epoch` complete. Refused with FENCED or NOT_JOINING. */
  transferDone(from: FencedBy, epoch: number, done: (answer: { complete: true }) => void, notJoining: (refusal: TransferRefusal) => void): void {
    this.step((finished) => {
      const refusal = this.fenceRefusal(from.member) ?? this.notJoining(transferDoneRefusal(`DATABASE${this.id}`, this.sync, epoch));
      if (refusal) {
        finished();
        return refusal.code === 'FENCED' ? from.refused(refusal) : notJoining(refusal);
      }
      this.afterSync(() => {
        this.setSync({ joiningSince: epoch, complete: true });
        finished();
        done({ complete: true });
      });
    });
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
    for (const task of this.line) {
      if (task.kind === 'group') for (const admitted of task.admitted) this.admittedWrites.remove(admitted);
    }
    this.line = [];
    this.running = false;
    this.atLeastReads.clear();
    this.observedVersion = TIMESTAMP_ZERO;
    // The acceptor restarts from the state last synced: a vote under way when it crashed never happened.
    if (this.durable) this.acceptor = Acceptor.restore(this.durable);
    if (this.admittedWrites.keyCount !== 0) throw new Error(`replica ${this.id}: admitted writes outlived the crash`);
  }

  private requireAcceptor(): AcceptorState {
    if (!this.durable) throw new Error(`replica ${this.id} was built without views`);
    return this.durable;
  }

  private notJoining(error: { message: string } | null): TransferRefusal | null {
    return error === null ? null : { code: 'NOT_JOINING', message: error.message };
  }

  /**
   * database/server.ts syncBeforePersisting, at the moment the vote's state is synced: an accept
   * that newly makes this replica joining clears its entries and its log (the largest version
   * stays); a chosen view that promotes or removes it ends its joining.
   */
  private syncBeforePersisting(event: AcceptorEvent): void {
    if (event.type === 'chosen') {
      const next = syncOnChosen(this.id, event.view, this.sync);
      if (next.clear) this.clearStore();
      this.setSync(next.sync);
      return;
    }
    if (event.type !== 'accept') return;
    const plan = syncOnAccept(this.id, this.durable!.chosen, event.view, this.sync);
    if (!plan.clear) return;
    this.clearStore();
    this.setSync(plan.sync);
  }

  /** The clear of a database that newly becomes joining: every entry and record (not with the broken rule 'skip-clear'). */
  private clearStore(): void {
    this.clearedAtMs.push(this.scheduler.nowMs ?? 0);
    if (this.brokenRule === 'skip-clear') return;
    this.storedEntries.clear();
    this.commitLog.commit(this.commitLog.planClear());
  }

  private setSync(sync: SyncState | null): void {
    const last = this.syncLog[this.syncLog.length - 1]!.sync;
    this.sync = sync;
    if (!sameSyncState(last, sync)) this.syncLog.push({ atMs: this.scheduler.nowMs ?? 0, sync });
  }

  /** database/server.ts fenceRefusal: null when the fence view admits `member` (or fencing is off, or there are no views). */
  private fenceRefusal(member: Member): Refusal | null {
    if (!this.durable || this.skipFencing) return null;
    const view = fenceView(this.durable);
    if (admits(view, member)) return null;
    return { code: 'FENCED', message: `DATABASE${this.id} accepted view ${view.epoch} without MIDDLEWARE${member.id} incarnation ${member.incarnation}` };
  }

  private step(run: (done: () => void) => void): void {
    this.line.push({ kind: 'step', run });
    this.runNext();
  }

  /** A sync: the rest happens after a random delay, unless the replica crashed meanwhile. */
  private afterSync(then: () => void): void {
    const life = this.life;
    this.scheduler.schedule(this.random.int(1, this.syncDelayMsMax), () => {
      if (life === this.life) then();
    });
  }

  /** Starts the head of the line if nothing runs. */
  private runNext(): void {
    if (this.running) return;
    const head = this.line[0];
    if (!head) return;
    this.running = true;
    const life = this.life;
    const next = (): void => {
      if (life !== this.life) return;
      this.line.shift();
      this.running = false;
      this.runNext();
    };
    if (head.kind === 'step') return head.run(next);
    head.started = true;
    // The fence is checked again as the group's write starts: a vote may have run since an APPLY was admitted.
    const refused = head.applies.map((apply) => (apply.from ? this.fenceRefusal(apply.from) : null));
    this.afterSync(() => this.finishWriting(head, refused, next));
  }

  /** The group's batch is synced: store it, forget its admitted writes, start what is next, then answer. */
  private finishWriting(group: Group, refused: Array<Refusal | null>, next: () => void): void {
    const kept = group.applies.filter((_, index) => refused[index] === null);
    const written = this.store(kept);
    let position = 0;
    const writtenAll = refused.map((refusal) => (refusal ? 0 : written[position++]!));
    for (const admitted of group.admitted) this.admittedWrites.remove(admitted);
    this.groupCount += 1;
    next();
    for (const caller of group.callers) {
      const refusal = refused.slice(caller.first, caller.first + caller.count).find((one) => one !== null);
      if (refusal && caller.refused) caller.refused(refusal);
      else caller.done(writtenAll.slice(caller.first, caller.first + caller.count));
    }
    for (const answer of group.afterWritten) answer();
    this.answerAtLeastReads();
  }

  /** Stores a group as production's Storage.applyGroup does: one plan over the stored versions of its keys, the log and the largest version in the same batch. */
  private store(applies: ReadonlyArray<GroupApply & { from?: Member; watermark?: number }>): number[] {
    if (applies.length === 0) return [];
    const written = this.brokenRule === 'thomas' ? applies.map(({ ts, writes }) => this.storeBlindly(ts, writes)) : this.storePlanned(applies);
    const logged = applies.filter((apply): apply is LoggedApply => apply.from !== undefined);
    if (logged.length > 0) {
      this.commitLog.commit(this.commitLog.planGroup(logged));
      for (const apply of logged) this.writtenApplies.push({ ts: apply.ts, from: apply.from, fenceIndex: this.fenceHistory.length - 1, atMs: this.scheduler.nowMs ?? 0 });
    }
    this.largestVersion = maxVersionAfter(maxVersionAfter(this.largestVersion, [this.observedVersion]), applies.map((apply) => apply.ts));
    return written;
  }

  private storePlanned(applies: readonly GroupApply[]): number[] {
    const { finalEntries, written } = planGroup(applies, this.storedVersionMap(groupKeys(applies)));
    for (const [key, entry] of finalEntries) this.storedEntries.set(key, entry);
    return written;
  }

  private storedVersionMap(keys: readonly Key[]): Map<Key, Timestamp> {
    const storedVersions = new Map<Key, Timestamp>();
    for (const key of keys) {
      const entry = this.storedEntries.get(key);
      if (entry) storedVersions.set(key, entry.version);
    }
    return storedVersions;
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
