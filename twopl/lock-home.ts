// The home side of strict two-phase locking as a pure state machine: the lock table of the
// keys this middleware homes, and the lock requests waiting in it. Events go in (a lock
// request arrived, a transaction released, this middleware begins leaving, a view is being
// installed, installed, or removed this middleware); the answers come out as data. A request
// is answered only when every lock it asks for is granted, or when its transaction must die:
// the grant is the message a waiting transaction waits for, and it is set free by a release
// (waiting by notification, never by polling).
//
// Views (docs/design.md, "Strict 2PL under the same views"): a home grants only in the view it
// has installed, and only to requests of that view's epoch. From a view-stop to the next
// install it grants nothing; every lock of the earlier view is dropped at the install, since
// by then no transaction of that view is running at any member of the new one (each member
// restarted its undecided transactions and finished its decided ones before it answered the
// stop). So a home that failed, or restarted with an empty table, never grants a lock that a
// holder elsewhere still relies on: its holders belong to an earlier epoch and are over.
//
// Clock rules (the design document, "Timestamps"): a lock request carries its transaction's
// start timestamp, and the home's clock observes it before anything else (the Lamport receive
// rule: whatever this middleware starts afterwards is younger); a grant carries the home's
// clock as it is at the moment of the grant, for the requester to observe.
import type { LamportClock } from '../timestamp/clock.js';
import type { Timestamp } from '../timestamp/timestamp.js';
import type { Key, MiddlewareId, TxnId } from '../transaction/types.js';
import { LockTable, type DeadlockPolicy, type LockMode } from './lock-table.js';
import { invariantBroken } from '../errors/invariant.js';

/** One lock a transaction asks of a home. */
export interface LockRequest {
  readonly key: Key;
  readonly mode: LockMode;
}

/**
 * A home's answer to a lock request, exactly as it travels back (the wire's LockResult).
 * `leaving`: this home grants nothing to this request now: it is leaving, it is between views
 * (stopped for an installation, or removed), or the request is of another view's epoch. The
 * requester restarts after a back-off, as it does after `die`.
 */
export type LockAnswer =
  | { granted: true; clock: number }
  | { granted: false; reason: 'die' | 'leaving'; detail: string };

export type LockHomeEvent =
  /** `from` asks for `locks` (in order) for its transaction `txid`, started at `ts`, in view `epoch`. */
  | { type: 'lock-requested'; from: MiddlewareId; epoch: number; txid: TxnId; ts: Timestamp; locks: readonly LockRequest[] }
  /** `txid`, of view `epoch`, gives up everything it holds or waits for here (it committed, rolled back, or restarts). */
  | { type: 'released'; epoch: number; txid: TxnId }
  /** This middleware is leaving: it grants nothing new; the requests already waiting are still served. */
  | { type: 'begin-leaving' }
  /** A view is being installed: grant nothing until it is; the requests waiting are refused. The locks held stay until released or the install. */
  | { type: 'view-stop' }
  /** Grant in view `epoch`, starting from an empty table. */
  | { type: 'view-install'; epoch: number }
  /** A newer view removed this middleware: like a view-stop, until a view of its next life is installed. */
  | { type: 'removed' };

/** The answer to a request of view `epoch` (the requester matches it to its attempt by txid and epoch). */
export type LockHomeEffect = { type: 'lock-answered'; to: MiddlewareId; epoch: number; txid: TxnId; answer: LockAnswer };

/**
 * How many releases of transactions this home never heard of it remembers. Such a release
 * overtook its own lock request (the requester gave up before the request arrived); the
 * request, when it comes, must be refused, or its locks would be granted to a transaction
 * that will never release them. Reordering is short-lived, so the oldest can be forgotten.
 */
export const EARLY_RELEASES_REMEMBERED_MAX = 10_000;

/** How many contended keys the home notes between two takes by its shell (which takes them after every event). */
export const CONTENTION_NOTES_MAX = 1_024;

/** A request some of whose locks are not granted yet. */
interface WaitingRequest {
  from: MiddlewareId;
  epoch: number;
  txid: TxnId;
  ts: Timestamp;
  locks: readonly LockRequest[];
  /** Index of the lock being waited for; the ones before it are held. */
  next: number;
}

export class LockHome {
  private tableNow: LockTable;
  private readonly waiting = new Map<TxnId, WaitingRequest>();
  /**
   * Releases that came before their request, oldest first. Kept across installs: a release of
   * the next epoch may reach this home before it installs that epoch, and its request after.
   */
  private readonly earlyReleases = new Set<TxnId>();
  private leaving = false;
  /** The epoch of the view this home grants in (or last did; -1 before the first). */
  private epochNow = -1;
  /** True until a view is installed, from a view-stop to the next install, and after removal. */
  private stoppedNow = true;
  /**
   * Keys whose lock made a request wait (`waited`) or die (`refused`) here, noted for the
   * shell's hot-key counts; the shell empties both after each event it feeds in.
   */
  readonly contention: { waited: Key[]; refused: Key[] } = { waited: [], refused: [] };

  constructor(readonly id: MiddlewareId, private readonly policy: DeadlockPolicy, private readonly clock: LamportClock) {
    this.tableNow = new LockTable(policy);
  }

  /** The locks of this home in the view it grants in (a new, empty table at each install). */
  get table(): LockTable {
    return this.tableNow;
  }

  get epoch(): number {
    return this.epochNow;
  }

  get stopped(): boolean {
    return this.stoppedNow;
  }

  /** Transactions holding or waiting for a lock here: a leaving middleware waits until none is left. */
  get transactionCount(): number {
    return this.table.transactionCount;
  }

  get isLeaving(): boolean {
    return this.leaving;
  }

  handle(event: LockHomeEvent): LockHomeEffect[] {
    switch (event.type) {
      case 'lock-requested': return this.onLockRequested(event);
      case 'released': return this.onReleased(event.epoch, event.txid);
      case 'begin-leaving': this.leaving = true; return [];
      case 'view-stop':
      case 'removed':
        this.stoppedNow = true;
        return this.refuseWaiting(event.type === 'removed' ? `MIDDLEWARE${this.id} was removed from the cluster` : `MIDDLEWARE${this.id} is installing a new view`);
      case 'view-install': return this.onViewInstall(event.epoch);
    }
  }

  private onLockRequested(event: Extract<LockHomeEvent, { type: 'lock-requested' }>): LockHomeEffect[] {
    this.clock.observe(event.ts);
    const { from, epoch, txid } = event;
    if (this.leaving) return [refused(from, epoch, txid, 'leaving', `MIDDLEWARE${this.id} is leaving and grants no new locks`)];
    if (this.stoppedNow) return [refused(from, epoch, txid, 'leaving', `MIDDLEWARE${this.id} grants no locks until it installs a view`)];
    // Homes are computed over the view's members: in another view this one may not be the
    // key's home, and the locks of another view are not in this table.
    if (epoch !== this.epochNow) return [refused(from, epoch, txid, 'leaving', `MIDDLEWARE${this.id} homes locks in view ${this.epochNow}, not in view ${epoch}`)];
    // A transaction asks each home once per attempt, so a second request while the first
    // waits is a requester's bug, not an operating condition.
    if (this.waiting.has(txid)) invariantBroken(`lock home: ${txid} already has a request waiting at MIDDLEWARE${this.id}`);
    if (this.earlyReleases.has(txid)) return [refused(from, epoch, txid, 'die', `${txid} was released at MIDDLEWARE${this.id} before its lock request arrived`)];
    return this.advance({ from, epoch, txid, ts: event.ts, locks: event.locks, next: 0 });
  }

  private onReleased(epoch: number, txid: TxnId): LockHomeEffect[] {
    // The locks of an earlier view were dropped when this home installed its view, and a
    // request of that view is refused here: nothing is left to release or to remember.
    if (epoch < this.epochNow) return [];
    const effects: LockHomeEffect[] = [];
    const own = this.waiting.get(txid);
    if (own) {
      // Its requester gave up on it: the answer only closes the request.
      this.waiting.delete(txid);
      effects.push(refused(own.from, own.epoch, txid, 'die', 'released while waiting'));
    } else if (this.table.timestampOf(txid) === undefined) {
      this.rememberEarlyRelease(txid);
    }
    for (const grant of this.table.releaseAll(txid)) {
      const request = this.waiting.get(grant.txid);
      // A grant of a lock other than the one its request waits for cannot come from a
      // release; skip it rather than advance the request past a lock it does not hold.
      if (!request || request.locks[request.next]?.key !== grant.key) continue;
      this.waiting.delete(grant.txid);
      request.next += 1;
      effects.push(...this.advance(request));
    }
    return effects;
  }

  /** Takes the request's locks in order from `next`; answers when all are held or one means death, else waits. */
  private advance(request: WaitingRequest): LockHomeEffect[] {
    for (; request.next < request.locks.length; request.next++) {
      const { key, mode } = request.locks[request.next]!;
      const result = this.table.acquire(request.txid, request.ts, key, mode);
      if (result.result === 'granted') continue;
      if (result.result === 'waiting') {
        this.waiting.set(request.txid, request);
        if (this.contention.waited.length < CONTENTION_NOTES_MAX) this.contention.waited.push(key);
        return [];
      }
      if (this.contention.refused.length < CONTENTION_NOTES_MAX) this.contention.refused.push(key);
      // The locks granted so far stay held: the requester releases everywhere when it hears this.
      return [refused(request.from, request.epoch, request.txid, 'die', `${key} is locked by ${result.conflictWith}`)];
    }
    return [{ type: 'lock-answered', to: request.from, epoch: request.epoch, txid: request.txid, answer: { granted: true, clock: this.clock.value } }];
  }

  /**
   * Every request still waiting is refused: its transaction is undecided, so its requester
   * restarts it anyway, and a grant now would be a lock taken while a view is installed. The
   * locks granted so far stay until released (a decided holder is still writing).
   */
  private refuseWaiting(detail: string): LockHomeEffect[] {
    const effects: LockHomeEffect[] = [];
    const requests = [...this.waiting.values()];
    this.waiting.clear();
    // Whatever a release grants here goes to another of these requests, released in turn.
    for (const request of requests) this.table.releaseAll(request.txid);
    for (const request of requests) effects.push(refused(request.from, request.epoch, request.txid, 'leaving', detail));
    return effects;
  }

  /**
   * The table starts empty. Its locks are not all released by now, and need not be: a
   * release may still be on its way, and a removed holder never sends one; but every
   * transaction that took them is over (restarted, finished, or fenced out with its life).
   */
  private onViewInstall(epoch: number): LockHomeEffect[] {
    // A resent or late INSTALL, of this view or an earlier one, changes nothing.
    if (epoch <= this.epochNow) return [];
    const effects = this.refuseWaiting(`MIDDLEWARE${this.id} installed view ${epoch}`);
    this.tableNow = new LockTable(this.policy);
    this.epochNow = epoch;
    this.stoppedNow = false;
    return effects;
  }

  private rememberEarlyRelease(txid: TxnId): void {
    this.earlyReleases.add(txid);
    if (this.earlyReleases.size > EARLY_RELEASES_REMEMBERED_MAX) this.earlyReleases.delete(this.earlyReleases.values().next().value!);
  }
}

function refused(to: MiddlewareId, epoch: number, txid: TxnId, reason: 'die' | 'leaving', detail: string): LockHomeEffect {
  return { type: 'lock-answered', to, epoch, txid, answer: { granted: false, reason, detail } };
}
