// Strict two-phase locking of one middleware as a pure state machine (like occ/node.ts).
// Events go in (a transaction begins an attempt, a home answered or could not be reached, the
// locked keys were read, the block ran, a replica acknowledged; and, for the keys this
// middleware homes, a lock request or a release arrived); effects come out as data (send lock
// requests and releases, answer a lock request, read, run the block, apply, report the
// outcome). The middleware's engine and the seeded simulator are two shells around it.
//
// One attempt of a transaction:
//   begin      lock set -> grouped by home (twopl/home.ts over the installed view's members)
//              -> one lock request per home, all at once, each carrying the view's epoch; the
//              local home answers inside the core
//   locking    every home granted -> read every locked key (one request, one replica)
//              any refusal, or a home unavailable -> release at every home at once (which
//              also cancels a request still waiting at another) and report `aborted`: the
//              shell restarts the transaction, after a back-off, with the same start timestamp
//   reading    the versions read -> run the block (the shell runs the interpreter)
//   running    rollback -> release everywhere; commit -> tick the commit timestamp, apply to
//              every replica (no writes: committed at once)
//   applying   every replica acknowledged -> release everywhere, committed
// Strictness: nothing is released before every replica has the writes, so the next holder of
// a lock reads them whatever replica it asks.
//
// Views (docs/design.md, "Strict 2PL under the same views"): a transaction runs in the view
// installed when it began. A view-stop restarts every undecided attempt (not yet applying; it
// releases everywhere) and refuses new ones until the next install; the decided ones go on to
// finish, and the shell answers the stop once none is left. An install finds no attempt left,
// recomputes the homes over the new members and starts the home's table empty. A removal drops
// every attempt: the undecided restart, the decided end with their outcome unknown.
//
// Clock rules (the design document, "Timestamps"; the clock is this core's own):
//   1. The start timestamp is ticked once, at a transaction's first attempt, and every restart
//      keeps it: wait-die compares it, so a restarted transaction only grows older relative to
//      newcomers and cannot starve.
//   2. A home observes the start timestamp of every lock request it receives; a grant carries
//      the home's clock, and the requester observes it.
//   3. Every version read is observed before the commit timestamp is ticked, so the commit
//      timestamp is larger than the version of every key the transaction read or overwrites:
//      versions grow along each key's lock order and the Thomas write rule drops no 2PL write.
//   4. The clock of an INSTALL is observed (view-install): it is above every member's clock and
//      every version stored, so everything started in the new view is younger.
import { LamportClock } from '../timestamp/clock.js';
import { formatTimestamp, isBefore, type Timestamp } from '../timestamp/timestamp.js';
import type { Key, MiddlewareId, ReplicaId, TxnId, Write } from '../transaction/types.js';
import { homeOf } from './home.js';
import { LockHome, type LockAnswer, type LockHomeEffect, type LockHomeEvent, type LockRequest } from './lock-home.js';
import type { DeadlockPolicy } from './lock-table.js';
import { invariantBroken } from '../errors/invariant.js';

export type { LockAnswer, LockRequest } from './lock-home.js';

/**
 * Why an attempt must start again: a home refused (wait-die or no-wait), is leaving or grants
 * nothing to it now (between views, or in another one), or did not answer; or this middleware
 * is installing a view, or was removed from the cluster.
 */
export type RestartReason = 'die' | 'leaving' | 'unavailable' | 'view-change' | 'removed';

export type TwoPhaseLockingEvent =
  /** An attempt of a transaction starts; `startTs` absent at the first attempt, the one `aborted` gave on a restart. */
  | { type: 'begin'; txid: TxnId; startTs?: Timestamp; locks: readonly LockRequest[] }
  /** A home answered this middleware's lock request of view `epoch` (the local home's answers never come as events). */
  | { type: 'lock-answer-received'; epoch: number; txid: TxnId; home: MiddlewareId; answer: LockAnswer }
  /** The lock request to `home` failed: the connection is lost, or the answer timed out. */
  | { type: 'home-unavailable'; txid: TxnId; home: MiddlewareId; detail: string }
  /** The locked keys, as one replica returned them, in the order of the `read` effect's keys. */
  | { type: 'read-answered'; txid: TxnId; entries: ReadonlyArray<{ readonly version: Timestamp }> }
  /** The block ran to its end: keep its writes, or not (it failed, or ended in ROLLBACK). */
  | { type: 'finish-requested'; txid: TxnId; decision: 'commit'; writes: Write[] }
  | { type: 'finish-requested'; txid: TxnId; decision: 'rollback' }
  | { type: 'replica-acked'; txid: TxnId; replica: ReplicaId }
  /** The shell cannot go on with the attempt (no replica answered the read, the interpreter threw, a peer answered with an error). */
  | { type: 'attempt-failed'; txid: TxnId; detail: string }
  /**
   * A view is being installed: undecided attempts restart, new ones wait for the install; the
   * decided ones go on to finish (`decidedCount`: the shell answers the stop when it is 0).
   */
  /** `databases`: the new view's replicas and joining databases, where decided writes must land (absent: unchanged). */
  | { type: 'view-stop'; databases?: readonly ReplicaId[] }
  /** Run transactions in view `epoch` with these members (this middleware among them), the clock past `clock`. */
  | { type: 'view-install'; epoch: number; members: readonly MiddlewareId[]; clock: number; databases?: readonly ReplicaId[] }
  /** A newer view removed this middleware's life: every attempt is dropped, until a view of its next life is installed. */
  | { type: 'removed' }
  /** For the keys this middleware homes. */
  | Exclude<LockHomeEvent, { type: 'view-stop' | 'view-install' | 'removed' }>;

export type TwoPhaseLockingEffect =
  | { type: 'send-lock-request'; to: MiddlewareId; epoch: number; txid: TxnId; ts: Timestamp; locks: LockRequest[] }
  | { type: 'send-release'; to: MiddlewareId; epoch: number; txid: TxnId }
  /** This home's answer to another middleware's lock request (possibly long after it arrived). */
  | LockHomeEffect
  /** Every lock is held: read these keys (the whole lock set, in its order) from one replica. */
  | { type: 'read'; txid: TxnId; keys: Key[] }
  /** Every lock is held and every key read: run the block. */
  | { type: 'run'; txid: TxnId }
  | { type: 'apply'; txid: TxnId; ts: Timestamp; writes: Write[]; replicas: ReplicaId[] }
  | { type: 'committed'; txid: TxnId; ts: Timestamp }
  | { type: 'rolled-back'; txid: TxnId }
  /** Released everywhere; the transaction is to run again with `startTs`. */
  | { type: 'aborted'; txid: TxnId; startTs: Timestamp; reason: RestartReason; detail: string }
  /** Released everywhere after `attempt-failed`; the shell reports its own error. */
  | { type: 'failed'; txid: TxnId; detail: string }
  /** Decided (applying) when this middleware was removed: recovery may or may not complete its writes. */
  | { type: 'outcome-unknown'; txid: TxnId; ts: Timestamp };

/** Test hooks that break the protocol on purpose, so tests can show the checks catch it. */
export interface TwoPhaseLockingFaults {
  /** Release the locks when the commit is decided, before the replicas acknowledge the writes. */
  releaseBeforeApplied?: boolean;
  /** Take no shared locks: keys only read are read unlocked. */
  readWithoutSharedLock?: boolean;
  /** Read as soon as the first home granted, without waiting for the others. */
  readBeforeEveryGrant?: boolean;
  /** Commit at the start timestamp instead of ticking after the reads (a restart keeps an old one). */
  commitAtStartTs?: boolean;
  /** On a refusal, release only at the homes that granted: a request still waiting elsewhere is not cancelled. */
  releaseOnlyGranted?: boolean;
}

/** Homes come from the installed view (view-install): until the first, the node runs nothing and grants nothing. */
export interface TwoPhaseLockingNodeOptions {
  id: MiddlewareId;
  policy: DeadlockPolicy;
  replicas: readonly ReplicaId[];
  clockStart?: number;
  faults?: TwoPhaseLockingFaults;
}

type Phase = 'locking' | 'reading' | 'running' | 'applying';

interface Attempt {
  txid: TxnId;
  /** The view it runs in: its requests and releases carry it, and only answers of it count. */
  epoch: number;
  startTs: Timestamp;
  /** The whole lock set, in the block's order: what is read, and what the attempt relies on. */
  locks: readonly LockRequest[];
  /** The homes asked, with the locks asked of each. */
  homes: Map<MiddlewareId, LockRequest[]>;
  phase: Phase;
  grantsAwaited: Set<MiddlewareId>;
  /** False while only the local home was asked: the others then need no release. */
  remoteHomesAsked: boolean;
  /** Set when the commit is decided (applying). */
  commitTs: Timestamp | undefined;
  acksAwaited: Set<ReplicaId> | undefined;
  /** Set when the commit is decided (applying): sent again to a database a new view adds. */
  writes: Write[] | undefined;
  released: boolean;
}

export class TwoPhaseLockingNode {
  readonly id: MiddlewareId;
  readonly clock: LamportClock;
  /** The locks of the keys this middleware homes. */
  readonly home: LockHome;
  /** The installed view's members, in its order: each key's home is computed over them. */
  private members: readonly MiddlewareId[] = [];
  private epochNow = -1;
  /** True until a view is installed, from a view-stop to the next install, and after removal. */
  private stoppedNow = true;
  private replicas: ReplicaId[];
  private readonly attempts = new Map<TxnId, Attempt>();
  private readonly faults: TwoPhaseLockingFaults;
  commits = 0;
  /** Attempts that must restart (refused, or a home unavailable). */
  aborts = 0;

  constructor(options: TwoPhaseLockingNodeOptions) {
    this.id = options.id;
    this.clock = new LamportClock(options.id, options.clockStart ?? 0);
    this.home = new LockHome(options.id, options.policy, this.clock);
    this.replicas = [...options.replicas];
    this.faults = options.faults ?? {};
    if (this.replicas.length === 0) invariantBroken('twopl: a middleware needs at least one replica');
  }

  /** Attempts of this middleware that have not reached an outcome. */
  get attemptCount(): number {
    return this.attempts.size;
  }

  /** Attempts decided to commit (applying) and not finished: a view-stop is answered when none is left. */
  get decidedCount(): number {
    let count = 0;
    for (const attempt of this.attempts.values()) if (attempt.phase === 'applying') count += 1;
    return count;
  }

  /** The epoch of the view this node runs transactions in (or last did; -1 before the first). */
  get epoch(): number {
    return this.epochNow;
  }

  /** True while no transaction may begin: before the first view, while one is installed, after removal. */
  get stopped(): boolean {
    return this.stoppedNow;
  }

  /** The installed view's members, in its order. */
  get memberIds(): MiddlewareId[] {
    return [...this.members];
  }

  /**
   * The attempts past locking (reading, running or applying), each with its whole lock set:
   * until it ends, each relies on holding all of it. For invariant checks.
   */
  *lockedAttempts(): IterableIterator<{ txid: TxnId; locks: readonly LockRequest[] }> {
    for (const attempt of this.attempts.values()) if (attempt.phase !== 'locking') yield attempt;
  }

  handle(event: TwoPhaseLockingEvent): TwoPhaseLockingEffect[] {
    switch (event.type) {
      case 'begin': return this.onBegin(event);
      case 'lock-answer-received':
        // A grant's clock is observed whatever became of the attempt (the receive rule).
        if (event.answer.granted) this.clock.observe(event.answer.clock);
        return this.onLockAnswer(event.epoch, event.txid, event.home, event.answer);
      case 'home-unavailable': return this.onHomeUnavailable(event);
      case 'read-answered': return this.onReadAnswered(event);
      case 'finish-requested': return this.onFinishRequested(event);
      case 'replica-acked': return this.onReplicaAcked(event);
      case 'attempt-failed': return this.onAttemptFailed(event);
      case 'view-stop': return this.onViewStop(event.databases);
      case 'view-install': return this.onViewInstall(event);
      case 'removed': return this.onRemoved();
      case 'lock-requested':
      case 'released':
      case 'begin-leaving':
        return this.route(this.home.handle(event));
    }
  }

  private onBegin(event: Extract<TwoPhaseLockingEvent, { type: 'begin' }>): TwoPhaseLockingEffect[] {
    if (this.attempts.has(event.txid)) invariantBroken(`twopl: ${event.txid} began twice`);
    if (event.startTs && (event.startTs[1] !== this.id || event.startTs[0] > this.clock.value)) {
      invariantBroken(`twopl: ${event.txid} restarts with ${formatTimestamp(event.startTs)}, which MIDDLEWARE${this.id}'s clock never gave`);
    }
    const startTs = event.startTs ?? this.clock.tick();
    if (this.stoppedNow) {
      // No view to run in: the shell waits for the next install, and this attempt restarts.
      this.aborts += 1;
      return [{ type: 'aborted', txid: event.txid, startTs, reason: 'view-change', detail: `MIDDLEWARE${this.id} runs no transaction until it installs a view` }];
    }
    const homes = new Map<MiddlewareId, LockRequest[]>();
    for (const lock of event.locks) {
      if (this.faults.readWithoutSharedLock && lock.mode === 'shared') continue;
      const home = homeOf(lock.key, this.members);
      const list = homes.get(home);
      if (list) list.push(lock);
      else homes.set(home, [lock]);
    }
    const attempt: Attempt = {
      txid: event.txid,
      epoch: this.epochNow,
      startTs,
      locks: event.locks,
      homes,
      phase: 'locking',
      grantsAwaited: new Set(homes.keys()),
      remoteHomesAsked: false,
      commitTs: undefined,
      acksAwaited: undefined,
      writes: undefined,
      released: false,
    };
    this.attempts.set(attempt.txid, attempt);
    if (homes.size === 0) return this.startReading(attempt);
    // The local home first: when it refuses at once, the attempt is over before any other
    // home is asked, and none of them needs a release.
    const local = homes.get(this.id);
    const effects = local ? this.route(this.home.handle({ type: 'lock-requested', from: this.id, epoch: attempt.epoch, txid: attempt.txid, ts: startTs, locks: local })) : [];
    if (!this.attempts.has(attempt.txid) || homes.size === (local ? 1 : 0)) return effects;
    attempt.remoteHomesAsked = true;
    for (const [home, locks] of homes) {
      if (home !== this.id) effects.push({ type: 'send-lock-request', to: home, epoch: attempt.epoch, txid: attempt.txid, ts: startTs, locks });
    }
    return effects;
  }

  private onLockAnswer(epoch: number, txid: TxnId, home: MiddlewareId, answer: LockAnswer): TwoPhaseLockingEffect[] {
    const attempt = this.attempts.get(txid);
    // An answer for an attempt that ended already: its release is on its way to that home.
    // One of another view's epoch answers no request of this attempt.
    if (!attempt || attempt.epoch !== epoch || attempt.phase !== 'locking' || !attempt.grantsAwaited.has(home)) return [];
    if (!answer.granted) return this.abort(attempt, answer.reason, answer.detail);
    attempt.grantsAwaited.delete(home);
    if (attempt.grantsAwaited.size > 0 && !this.faults.readBeforeEveryGrant) return [];
    return this.startReading(attempt);
  }

  private onHomeUnavailable(event: Extract<TwoPhaseLockingEvent, { type: 'home-unavailable' }>): TwoPhaseLockingEffect[] {
    const attempt = this.attempts.get(event.txid);
    if (!attempt || attempt.phase !== 'locking' || !attempt.grantsAwaited.has(event.home)) return [];
    return this.abort(attempt, 'unavailable', event.detail);
  }

  /** Every lock is held (rule: nothing is read before the last grant). */
  private startReading(attempt: Attempt): TwoPhaseLockingEffect[] {
    if (attempt.locks.length === 0) {
      attempt.phase = 'running';
      return [{ type: 'run', txid: attempt.txid }];
    }
    attempt.phase = 'reading';
    return [{ type: 'read', txid: attempt.txid, keys: attempt.locks.map((lock) => lock.key) }];
  }

  private onReadAnswered(event: Extract<TwoPhaseLockingEvent, { type: 'read-answered' }>): TwoPhaseLockingEffect[] {
    const attempt = this.attempts.get(event.txid);
    if (!attempt || attempt.phase !== 'reading') return [];
    if (event.entries.length !== attempt.locks.length) invariantBroken(`twopl: ${attempt.txid} read ${event.entries.length} entries for ${attempt.locks.length} keys`);
    for (const entry of event.entries) this.clock.observe(entry.version);
    attempt.phase = 'running';
    return [{ type: 'run', txid: attempt.txid }];
  }

  private onFinishRequested(event: Extract<TwoPhaseLockingEvent, { type: 'finish-requested' }>): TwoPhaseLockingEffect[] {
    const attempt = this.attempts.get(event.txid);
    // Restarted while its block ran (a view-stop, or a removal): the block's end changes nothing.
    if (!attempt) return [];
    if (attempt.phase !== 'running') invariantBroken(`twopl: ${event.txid} asked to finish while ${attempt.phase}`);
    if (event.decision === 'rollback') {
      this.attempts.delete(attempt.txid);
      const effects = this.releaseEverywhere(attempt, attempt.homes.keys());
      effects.push({ type: 'rolled-back', txid: attempt.txid });
      return effects;
    }
    // After the versions read (rule 3): larger than every one of them.
    const commitTs = this.faults.commitAtStartTs ? attempt.startTs : this.clock.tick();
    if (!this.faults.commitAtStartTs && !isBefore(attempt.startTs, commitTs)) invariantBroken(`twopl: ${attempt.txid} would commit at ${formatTimestamp(commitTs)}, not after its start`);
    if (event.writes.length === 0) return this.commit(attempt, commitTs);
    attempt.phase = 'applying';
    attempt.commitTs = commitTs;
    attempt.acksAwaited = new Set(this.replicas);
    attempt.writes = event.writes;
    const effects: TwoPhaseLockingEffect[] = [{ type: 'apply', txid: attempt.txid, ts: commitTs, writes: event.writes, replicas: [...this.replicas] }];
    if (this.faults.releaseBeforeApplied) effects.push(...this.releaseEverywhere(attempt, attempt.homes.keys()));
    return effects;
  }

  private onReplicaAcked(event: Extract<TwoPhaseLockingEvent, { type: 'replica-acked' }>): TwoPhaseLockingEffect[] {
    const attempt = this.attempts.get(event.txid);
    if (!attempt || attempt.phase !== 'applying') return [];
    attempt.acksAwaited!.delete(event.replica);
    if (attempt.acksAwaited!.size > 0) return [];
    return this.commit(attempt, attempt.commitTs!);
  }

  /** Every replica has the writes (or there were none): only now are the locks released. */
  private commit(attempt: Attempt, commitTs: Timestamp): TwoPhaseLockingEffect[] {
    this.attempts.delete(attempt.txid);
    this.commits += 1;
    const effects = this.releaseEverywhere(attempt, attempt.homes.keys());
    effects.push({ type: 'committed', txid: attempt.txid, ts: commitTs });
    return effects;
  }

  private abort(attempt: Attempt, reason: RestartReason, detail: string): TwoPhaseLockingEffect[] {
    this.attempts.delete(attempt.txid);
    this.aborts += 1;
    const homes = this.faults.releaseOnlyGranted ? [...attempt.homes.keys()].filter((home) => !attempt.grantsAwaited.has(home)) : attempt.homes.keys();
    const effects = this.releaseEverywhere(attempt, homes);
    effects.push({ type: 'aborted', txid: attempt.txid, startTs: attempt.startTs, reason, detail });
    return effects;
  }

  private onAttemptFailed(event: Extract<TwoPhaseLockingEvent, { type: 'attempt-failed' }>): TwoPhaseLockingEffect[] {
    const attempt = this.attempts.get(event.txid);
    if (!attempt) return [];
    // In `applying` too: the shell gave up on a replica (it is closing, or the replica
    // answered with an error that is not an outage), and keeping the locks for good would
    // block the keys for good.
    this.attempts.delete(attempt.txid);
    const effects = this.releaseEverywhere(attempt, attempt.homes.keys());
    effects.push({ type: 'failed', txid: attempt.txid, detail: event.detail });
    return effects;
  }

  /**
   * Releases at every home of `homes` at once: the local one here, the others by message.
   * The attempt must have left the table of attempts, so that the answer its own cancelled
   * request gets is ignored.
   */
  private releaseEverywhere(attempt: Attempt, homes: Iterable<MiddlewareId>): TwoPhaseLockingEffect[] {
    if (attempt.released) return [];
    attempt.released = true;
    const effects: TwoPhaseLockingEffect[] = [];
    for (const home of homes) {
      if (home === this.id) effects.push(...this.route(this.home.handle({ type: 'released', epoch: attempt.epoch, txid: attempt.txid })));
      else if (attempt.remoteHomesAsked) effects.push({ type: 'send-release', to: home, epoch: attempt.epoch, txid: attempt.txid });
    }
    return effects;
  }

  /**
   * The home first: it refuses the requests waiting in it, so the releases of the attempts
   * restarted next grant nothing. Then every undecided attempt restarts; the decided ones go on.
   */
  private onViewStop(databases?: readonly ReplicaId[]): TwoPhaseLockingEffect[] {
    this.stoppedNow = true;
    const effects = this.route(this.home.handle({ type: 'view-stop' }));
    effects.push(...this.restartUndecided('view-change', `MIDDLEWARE${this.id} is installing a new view`));
    if (databases) effects.push(...this.retarget(databases));
    return effects;
  }

  /**
   * The databases of the view being installed: every decided write must be on each of them
   * before it is installed, and on no other. One it leaves out will not acknowledge (it may be
   * dead); one it adds (joining) gets the write now.
   */
  private retarget(databases: readonly ReplicaId[]): TwoPhaseLockingEffect[] {
    if (databases.length === 0) invariantBroken('twopl: a view has at least one database');
    const added = databases.filter((database) => !this.replicas.includes(database));
    this.replicas = [...databases];
    const effects: TwoPhaseLockingEffect[] = [];
    for (const attempt of [...this.attempts.values()]) {
      if (attempt.phase !== 'applying') continue;
      for (const database of [...attempt.acksAwaited!]) if (!databases.includes(database)) attempt.acksAwaited!.delete(database);
      if (added.length > 0) {
        for (const database of added) attempt.acksAwaited!.add(database);
        effects.push({ type: 'apply', txid: attempt.txid, ts: attempt.commitTs!, writes: attempt.writes!, replicas: [...added] });
      }
      if (attempt.acksAwaited!.size === 0) effects.push(...this.commit(attempt, attempt.commitTs!));
    }
    return effects;
  }

  private onViewInstall(event: Extract<TwoPhaseLockingEvent, { type: 'view-install' }>): TwoPhaseLockingEffect[] {
    // A resent or late INSTALL, of this view or an earlier one, changes nothing.
    if (event.epoch <= this.epochNow) return [];
    if (!event.members.includes(this.id)) invariantBroken(`twopl: view ${event.epoch} installed at MIDDLEWARE${this.id}, which is not among its members ${event.members.join(', ')}`);
    // The installer sends INSTALL only after this member answered the stop: every undecided
    // attempt restarted then, and every decided one is finished. Should an INSTALL come
    // without a stop all the same, the undecided restart now; a decided one left is a bug.
    const effects = this.stoppedNow ? [] : this.onViewStop();
    if (this.attempts.size > 0) invariantBroken(`twopl: view ${event.epoch} installed at MIDDLEWARE${this.id} with ${this.attempts.size} decided transactions not finished`);
    this.clock.observe(event.clock);
    if (event.databases) {
      if (event.databases.length === 0) invariantBroken('twopl: a view has at least one database');
      this.replicas = [...event.databases];
    }
    this.members = [...event.members];
    this.epochNow = event.epoch;
    effects.push(...this.route(this.home.handle({ type: 'view-install', epoch: event.epoch })));
    this.stoppedNow = false;
    return effects;
  }

  /**
   * The undecided attempts restart (as for a view-stop). The decided ones are dropped without
   * a release: the APPLYs of this life are fenced from now on, the homes of the view that
   * removed it start empty, and until then their writes may still land.
   */
  private onRemoved(): TwoPhaseLockingEffect[] {
    this.stoppedNow = true;
    const effects = this.route(this.home.handle({ type: 'removed' }));
    effects.push(...this.restartUndecided('removed', `MIDDLEWARE${this.id} was removed from the cluster`));
    for (const attempt of [...this.attempts.values()]) {
      this.attempts.delete(attempt.txid);
      effects.push({ type: 'outcome-unknown', txid: attempt.txid, ts: attempt.commitTs! });
    }
    return effects;
  }

  /**
   * Every attempt not yet applying restarts, releasing everywhere. They all leave the table
   * first, so that the answers their cancelled requests get at the local home are ignored.
   */
  private restartUndecided(reason: RestartReason, detail: string): TwoPhaseLockingEffect[] {
    const undecided = [...this.attempts.values()].filter((attempt) => attempt.phase !== 'applying');
    for (const attempt of undecided) this.attempts.delete(attempt.txid);
    const effects: TwoPhaseLockingEffect[] = [];
    for (const attempt of undecided) {
      this.aborts += 1;
      effects.push(...this.releaseEverywhere(attempt, attempt.homes.keys()));
      effects.push({ type: 'aborted', txid: attempt.txid, startTs: attempt.startTs, reason, detail });
    }
    return effects;
  }

  /** The local home's answers to this middleware's own requests are taken in here; the others go out. */
  private route(effects: LockHomeEffect[]): TwoPhaseLockingEffect[] {
    if (effects.length === 0) return effects;
    const out: TwoPhaseLockingEffect[] = [];
    for (const effect of effects) {
      if (effect.to === this.id) out.push(...this.onLockAnswer(effect.epoch, effect.txid, this.id, effect.answer));
      else out.push(effect);
    }
    return out;
  }
}
