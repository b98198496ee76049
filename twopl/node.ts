// Strict two-phase locking of one middleware as a pure state machine (like occ/node.ts).
// Events go in (a transaction begins an attempt, a home answered or could not be reached, the
// locked keys were read, the block ran, a replica acknowledged; and, for the keys this
// middleware homes, a lock request or a release arrived); effects come out as data (send lock
// requests and releases, answer a lock request, read, run the block, apply, report the
// outcome). The middleware's engine and the seeded simulator are two shells around it.
//
// One attempt of a transaction:
//   begin      lock set -> grouped by home (twopl/home.ts over the member list given) -> one
//              lock request per home, all at once; the local home answers inside the core
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
// Clock rules (the design document, "Timestamps"; the clock is this core's own):
//   1. The start timestamp is ticked once, at a transaction's first attempt, and every restart
//      keeps it: wait-die compares it, so a restarted transaction only grows older relative to
//      newcomers and cannot starve.
//   2. A home observes the start timestamp of every lock request it receives; a grant carries
//      the home's clock, and the requester observes it.
//   3. Every version read is observed before the commit timestamp is ticked, so the commit
//      timestamp is larger than the version of every key the transaction read or overwrites:
//      versions grow along each key's lock order and the Thomas write rule drops no 2PL write.
//   4. The clock of a JOIN is observed (member-joined).
import { LamportClock } from '../timestamp/clock.js';
import { formatTimestamp, isBefore, type Timestamp } from '../timestamp/timestamp.js';
import type { Key, MiddlewareId, ReplicaId, TxnId, Write } from '../transaction/types.js';
import { homeOf } from './home.js';
import { LockHome, type LockAnswer, type LockHomeEffect, type LockHomeEvent, type LockRequest } from './lock-home.js';
import type { DeadlockPolicy } from './lock-table.js';
import { invariantBroken } from '../errors/invariant.js';

export type { LockAnswer, LockRequest } from './lock-home.js';

/** Why an attempt must start again: a home refused (wait-die or no-wait), is leaving, or did not answer. */
export type RestartReason = 'die' | 'leaving' | 'unavailable';

export type TwoPhaseLockingEvent =
  /** An attempt of a transaction starts; `startTs` absent at the first attempt, the one `aborted` gave on a restart. */
  | { type: 'begin'; txid: TxnId; startTs?: Timestamp; locks: readonly LockRequest[] }
  /** A home answered this middleware's lock request (the local home's answers never come as events). */
  | { type: 'lock-answer-received'; txid: TxnId; home: MiddlewareId; answer: LockAnswer }
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
  | { type: 'member-joined'; member: MiddlewareId; clock: number }
  /** For the keys this middleware homes. */
  | LockHomeEvent;

export type TwoPhaseLockingEffect =
  | { type: 'send-lock-request'; to: MiddlewareId; txid: TxnId; ts: Timestamp; locks: LockRequest[] }
  | { type: 'send-release'; to: MiddlewareId; txid: TxnId }
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
  | { type: 'failed'; txid: TxnId; detail: string };

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

export interface TwoPhaseLockingNodeOptions {
  id: MiddlewareId;
  policy: DeadlockPolicy;
  /** Every middleware, in the cluster file's order: this fixes each key's home. */
  middlewareIds: readonly MiddlewareId[];
  replicas: readonly ReplicaId[];
  clockStart?: number;
  faults?: TwoPhaseLockingFaults;
}

type Phase = 'locking' | 'reading' | 'running' | 'applying';

interface Attempt {
  txid: TxnId;
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
  released: boolean;
}

export class TwoPhaseLockingNode {
  readonly id: MiddlewareId;
  readonly clock: LamportClock;
  /** The locks of the keys this middleware homes. */
  readonly home: LockHome;
  private readonly middlewareIds: readonly MiddlewareId[];
  private readonly replicas: ReplicaId[];
  private readonly attempts = new Map<TxnId, Attempt>();
  private readonly faults: TwoPhaseLockingFaults;
  commits = 0;
  /** Attempts that must restart (refused, or a home unavailable). */
  aborts = 0;

  constructor(options: TwoPhaseLockingNodeOptions) {
    this.id = options.id;
    this.clock = new LamportClock(options.id, options.clockStart ?? 0);
    this.home = new LockHome(options.id, options.policy, this.clock);
    this.middlewareIds = [...options.middlewareIds];
    this.replicas = [...options.replicas];
    this.faults = options.faults ?? {};
    if (!this.middlewareIds.includes(this.id)) invariantBroken(`twopl: MIDDLEWARE${this.id} is not in the member list ${this.middlewareIds.join(', ')}`);
    if (this.replicas.length === 0) invariantBroken('twopl: a middleware needs at least one replica');
  }

  /** Attempts of this middleware that have not reached an outcome. */
  get attemptCount(): number {
    return this.attempts.size;
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
        return this.onLockAnswer(event.txid, event.home, event.answer);
      case 'home-unavailable': return this.onHomeUnavailable(event);
      case 'read-answered': return this.onReadAnswered(event);
      case 'finish-requested': return this.onFinishRequested(event);
      case 'replica-acked': return this.onReplicaAcked(event);
      case 'attempt-failed': return this.onAttemptFailed(event);
      case 'member-joined': this.clock.observe(event.clock); return [];
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
    const homes = new Map<MiddlewareId, LockRequest[]>();
    for (const lock of event.locks) {
      if (this.faults.readWithoutSharedLock && lock.mode === 'shared') continue;
      const home = homeOf(lock.key, this.middlewareIds);
      const list = homes.get(home);
      if (list) list.push(lock);
      else homes.set(home, [lock]);
    }
    const attempt: Attempt = {
      txid: event.txid,
      startTs,
      locks: event.locks,
      homes,
      phase: 'locking',
      grantsAwaited: new Set(homes.keys()),
      remoteHomesAsked: false,
      commitTs: undefined,
      acksAwaited: undefined,
      released: false,
    };
    this.attempts.set(attempt.txid, attempt);
    if (homes.size === 0) return this.startReading(attempt);
    // The local home first: when it refuses at once, the attempt is over before any other
    // home is asked, and none of them needs a release.
    const local = homes.get(this.id);
    const effects = local ? this.route(this.home.handle({ type: 'lock-requested', from: this.id, txid: attempt.txid, ts: startTs, locks: local })) : [];
    if (!this.attempts.has(attempt.txid) || homes.size === (local ? 1 : 0)) return effects;
    attempt.remoteHomesAsked = true;
    for (const [home, locks] of homes) {
      if (home !== this.id) effects.push({ type: 'send-lock-request', to: home, txid: attempt.txid, ts: startTs, locks });
    }
    return effects;
  }

  private onLockAnswer(txid: TxnId, home: MiddlewareId, answer: LockAnswer): TwoPhaseLockingEffect[] {
    const attempt = this.attempts.get(txid);
    // An answer for an attempt that ended already: its release is on its way to that home.
    if (!attempt || attempt.phase !== 'locking' || !attempt.grantsAwaited.has(home)) return [];
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
    if (!attempt || attempt.phase !== 'running') invariantBroken(`twopl: ${event.txid} asked to finish while ${attempt ? attempt.phase : 'unknown'}`);
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
      if (home === this.id) effects.push(...this.route(this.home.handle({ type: 'released', txid: attempt.txid })));
      else if (attempt.remoteHomesAsked) effects.push({ type: 'send-release', to: home, txid: attempt.txid });
    }
    return effects;
  }

  /** The local home's answers to this middleware's own requests are taken in here; the others go out. */
  private route(effects: LockHomeEffect[]): TwoPhaseLockingEffect[] {
    if (effects.length === 0) return effects;
    const out: TwoPhaseLockingEffect[] = [];
    for (const effect of effects) {
      if (effect.to === this.id) out.push(...this.onLockAnswer(effect.txid, this.id, effect.answer));
      else out.push(effect);
    }
    return out;
  }
}
