// The home side of strict two-phase locking as a pure state machine: the lock table of the
// keys this middleware homes, and the lock requests waiting in it. Events go in (a lock
// request arrived, a transaction released, this middleware begins leaving); the answers come
// out as data. A request is answered only when every lock it asks for is granted, or when its
// transaction must die: the grant is the message a waiting transaction waits for, and it is
// set free by a release (waiting by notification, never by polling).
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

/** A home's answer to a lock request, exactly as it travels back (the wire's LockResult). */
export type LockAnswer =
  | { granted: true; clock: number }
  | { granted: false; reason: 'die' | 'leaving'; detail: string };

export type LockHomeEvent =
  /** `from` asks for `locks` (in order) for its transaction `txid`, started at `ts`. */
  | { type: 'lock-requested'; from: MiddlewareId; txid: TxnId; ts: Timestamp; locks: readonly LockRequest[] }
  /** `txid` gives up everything it holds or waits for here (it committed, rolled back, or restarts). */
  | { type: 'released'; txid: TxnId }
  /** This middleware is leaving: it grants nothing new; the requests already waiting are still served. */
  | { type: 'begin-leaving' };

export type LockHomeEffect = { type: 'lock-answered'; to: MiddlewareId; txid: TxnId; answer: LockAnswer };

/**
 * How many releases of transactions this home never heard of it remembers. Such a release
 * overtook its own lock request (the requester gave up before the request arrived); the
 * request, when it comes, must be refused, or its locks would be granted to a transaction
 * that will never release them. Reordering is short-lived, so the oldest can be forgotten.
 */
export const EARLY_RELEASES_REMEMBERED_MAX = 10_000;

/** A request some of whose locks are not granted yet. */
interface WaitingRequest {
  from: MiddlewareId;
  txid: TxnId;
  ts: Timestamp;
  locks: readonly LockRequest[];
  /** Index of the lock being waited for; the ones before it are held. */
  next: number;
}

export class LockHome {
  readonly table: LockTable;
  private readonly waiting = new Map<TxnId, WaitingRequest>();
  /** Releases that came before their request, oldest first. */
  private readonly earlyReleases = new Set<TxnId>();
  private leaving = false;

  constructor(readonly id: MiddlewareId, policy: DeadlockPolicy, private readonly clock: LamportClock) {
    this.table = new LockTable(policy);
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
      case 'released': return this.onReleased(event.txid);
      case 'begin-leaving': this.leaving = true; return [];
    }
  }

  private onLockRequested(event: Extract<LockHomeEvent, { type: 'lock-requested' }>): LockHomeEffect[] {
    this.clock.observe(event.ts);
    if (this.leaving) return [refused(event.from, event.txid, 'leaving', `MIDDLEWARE${this.id} is leaving and grants no new locks`)];
    // A transaction asks each home once per attempt, so a second request while the first
    // waits is a requester's bug, not an operating condition.
    if (this.waiting.has(event.txid)) invariantBroken(`lock home: ${event.txid} already has a request waiting at MIDDLEWARE${this.id}`);
    if (this.earlyReleases.has(event.txid)) return [refused(event.from, event.txid, 'die', `${event.txid} was released at MIDDLEWARE${this.id} before its lock request arrived`)];
    return this.advance({ from: event.from, txid: event.txid, ts: event.ts, locks: event.locks, next: 0 });
  }

  private onReleased(txid: TxnId): LockHomeEffect[] {
    const effects: LockHomeEffect[] = [];
    const own = this.waiting.get(txid);
    if (own) {
      // Its requester gave up on it: the answer only closes the request.
      this.waiting.delete(txid);
      effects.push(refused(own.from, txid, 'die', 'released while waiting'));
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
        return [];
      }
      // The locks granted so far stay held: the requester releases everywhere when it hears this.
      return [refused(request.from, request.txid, 'die', `${key} is locked by ${result.conflictWith}`)];
    }
    return [{ type: 'lock-answered', to: request.from, txid: request.txid, answer: { granted: true, clock: this.clock.value } }];
  }

  private rememberEarlyRelease(txid: TxnId): void {
    this.earlyReleases.add(txid);
    if (this.earlyReleases.size > EARLY_RELEASES_REMEMBERED_MAX) this.earlyReleases.delete(this.earlyReleases.values().next().value!);
  }
}

function refused(to: MiddlewareId, txid: TxnId, reason: 'die' | 'leaving', detail: string): LockHomeEffect {
  return { type: 'lock-answered', to, txid, answer: { granted: false, reason, detail } };
}
