// The lock table of one home middleware under strict two-phase locking (the design document, "The
// baseline: strict two-phase locking"). A pure data structure driven by calls: acquire and
// releaseAll go in, the requests granted come out as data; the middleware turns those into
// grant messages. Deadlocks are prevented, not detected: with wait-die every wait points from
// an older transaction to a younger one, so no cycle of waits can ever form.
import { formatTimestamp, isBefore, timestampsEqual, type Timestamp } from '../timestamp/timestamp.js';
import { invariantBroken } from '../errors/invariant.js';

export type LockMode = 'shared' | 'exclusive';
export type DeadlockPolicy = 'wait-die' | 'no-wait';

export type AcquireResult =
  | { result: 'granted' }
  | { result: 'waiting' } // queued; a later Grant will name (txid, key)
  | { result: 'die'; conflictWith: string }; // the requester must release everything and restart

/** A queued request that a release has granted. */
export interface Grant {
  txid: string;
  key: string;
  mode: LockMode;
}

interface Request {
  txid: string;
  mode: LockMode;
  /** The requester holds the key shared and wants it exclusive. Upgrades queue ahead of the rest. */
  upgrade: boolean;
}

interface KeyLocks {
  /** txid -> mode, in grant order. */
  holders: Map<string, LockMode>;
  /** Upgrade requests first, then ordinary requests in arrival order. */
  queue: Request[];
}

interface TxnLocks {
  /** The start timestamp: wait-die compares it, and a restarted transaction keeps it. */
  ts: Timestamp;
  held: Map<string, LockMode>;
  waiting: Map<string, LockMode>;
}

const GRANTED: AcquireResult = { result: 'granted' };
const WAITING: AcquireResult = { result: 'waiting' };

export function modesCompatible(a: LockMode, b: LockMode): boolean {
  return a === 'shared' && b === 'shared';
}

/** A lock held in `held` already gives everything a request for `wanted` would. */
function covers(held: LockMode, wanted: LockMode): boolean {
  return held === 'exclusive' || wanted === 'shared';
}

export class LockTable {
  private readonly keys = new Map<string, KeyLocks>();
  private readonly txns = new Map<string, TxnLocks>();

  constructor(readonly policy: DeadlockPolicy) {
    if (policy !== 'wait-die' && policy !== 'no-wait') invariantBroken(`twopl: unknown deadlock policy ${String(policy)}`);
  }

  /** txid (with its start timestamp, which a restarted transaction keeps) asks for key in mode. */
  acquire(txid: string, ts: Timestamp, key: string, mode: LockMode): AcquireResult {
    const txn = this.txns.get(txid);
    if (txn && !timestampsEqual(txn.ts, ts)) {
      invariantBroken(`twopl: ${txid} started at ${formatTimestamp(txn.ts)} but asks for ${key} with ${formatTimestamp(ts)}`);
    }
    const held = txn?.held.get(key);
    if (held !== undefined && covers(held, mode)) return GRANTED;
    const queued = txn?.waiting.get(key);
    if (queued !== undefined) {
      // The same request again (a repeated message) changes nothing; a stronger one while the
      // first is still queued would need two places in one queue, which the design never asks.
      if (covers(queued, mode)) return WAITING;
      invariantBroken(`twopl: ${txid} asks for ${key} ${mode} while its ${queued} request for it is still queued`);
    }

    const locks = this.keys.get(key) ?? { holders: new Map<string, LockMode>(), queue: [] };
    const upgrade = held !== undefined; // held shared, wants exclusive: covers() handled the rest
    const conflicts = upgrade ? this.upgradeConflicts(locks, txid) : this.requestConflicts(locks, mode);

    if (conflicts.length === 0) {
      locks.holders.set(txid, mode);
      this.txnOf(txid, ts).held.set(key, mode);
      this.keys.set(key, locks);
      this.assertKey(key);
      return GRANTED;
    }

    const blocker = this.policy === 'no-wait' ? conflicts[0] : conflicts.find((other) => !isBefore(ts, other.ts));
    if (blocker) return { result: 'die', conflictWith: blocker.txid };

    // An upgrade goes ahead of ordinary waiters: behind them it would wait for requests that
    // wait for its own shared lock. Among upgrades, first come first served.
    const position = upgrade ? this.upgradeCount(locks) : locks.queue.length;
    locks.queue.splice(position, 0, { txid, mode, upgrade });
    this.txnOf(txid, ts).waiting.set(key, mode);
    this.keys.set(key, locks);
    this.assertKey(key);
    return WAITING;
  }

  /** Releases every lock txid holds and cancels its waiting requests; returns the requests this grants, in grant order. */
  releaseAll(txid: string): Grant[] {
    const txn = this.txns.get(txid);
    if (!txn) return [];
    this.txns.delete(txid);
    const grants: Grant[] = [];
    // Keys it only waited for matter too: the cancelled request may have been what blocked the queue.
    for (const key of new Set([...txn.held.keys(), ...txn.waiting.keys()])) {
      const locks = this.keys.get(key);
      if (!locks) invariantBroken(`twopl: ${txid} has a lock or request on ${key}, which the table does not know`);
      locks.holders.delete(txid);
      const index = locks.queue.findIndex((request) => request.txid === txid);
      if (index >= 0) locks.queue.splice(index, 1);
      this.grantFromFront(key, locks, grants);
      if (locks.holders.size === 0 && locks.queue.length === 0) this.keys.delete(key);
      this.assertKey(key);
    }
    return grants;
  }

  holders(key: string): Array<{ txid: string; mode: LockMode }> {
    return [...(this.keys.get(key)?.holders ?? [])].map(([txid, mode]) => ({ txid, mode }));
  }

  /** Calls `visit` for every lock held in the table, without copying (for checks made after every step of a simulation). */
  forEachHolder(visit: (key: string, txid: string, mode: LockMode) => void): void {
    for (const [key, locks] of this.keys) for (const [txid, mode] of locks.holders) visit(key, txid, mode);
  }

  waiters(key: string): Array<{ txid: string; mode: LockMode }> {
    return (this.keys.get(key)?.queue ?? []).map(({ txid, mode }) => ({ txid, mode }));
  }

  /** The locks txid holds (not the ones it waits for). */
  locksOf(txid: string): Array<{ key: string; mode: LockMode }> {
    return [...(this.txns.get(txid)?.held ?? [])].map(([key, mode]) => ({ key, mode }));
  }

  /** The requests txid has queued. */
  waitsOf(txid: string): Array<{ key: string; mode: LockMode }> {
    return [...(this.txns.get(txid)?.waiting ?? [])].map(([key, mode]) => ({ key, mode }));
  }

  /** The start timestamp txid holds or waits with, if it is in the table. */
  timestampOf(txid: string): Timestamp | undefined {
    return this.txns.get(txid)?.ts;
  }

  /** Keys with a holder or a waiter (for status / for a leaving middleware). */
  get lockedKeyCount(): number {
    return this.keys.size;
  }

  /** Transactions holding or waiting. */
  get transactionCount(): number {
    return this.txns.size;
  }

  /** An ordinary request conflicts with incompatible holders and with incompatible waiters ahead (all of them: it joins the back). */
  private requestConflicts(locks: KeyLocks, mode: LockMode): Array<{ txid: string; ts: Timestamp }> {
    const conflicts: string[] = [];
    for (const [holder, held] of locks.holders) if (!modesCompatible(held, mode)) conflicts.push(holder);
    for (const request of locks.queue) if (!modesCompatible(request.mode, mode)) conflicts.push(request.txid);
    return conflicts.map((txid) => ({ txid, ts: this.tsOf(txid) }));
  }

  /** An upgrade conflicts with every other holder and with the upgrades queued before it. */
  private upgradeConflicts(locks: KeyLocks, txid: string): Array<{ txid: string; ts: Timestamp }> {
    const conflicts: string[] = [];
    for (const holder of locks.holders.keys()) if (holder !== txid) conflicts.push(holder);
    for (const request of locks.queue) if (request.upgrade) conflicts.push(request.txid);
    return conflicts.map((other) => ({ txid: other, ts: this.tsOf(other) }));
  }

  private upgradeCount(locks: KeyLocks): number {
    const firstOrdinary = locks.queue.findIndex((request) => !request.upgrade);
    return firstOrdinary < 0 ? locks.queue.length : firstOrdinary;
  }

  /** Grants the run of requests at the front of the queue that the holders now allow; stops at the first that conflicts. */
  private grantFromFront(key: string, locks: KeyLocks, grants: Grant[]): void {
    while (locks.queue.length > 0) {
      const next = locks.queue[0]!;
      if (!this.grantable(locks, next)) return;
      locks.queue.shift();
      locks.holders.set(next.txid, next.mode);
      const txn = this.txns.get(next.txid)!;
      txn.waiting.delete(key);
      txn.held.set(key, next.mode);
      grants.push({ txid: next.txid, key, mode: next.mode });
    }
  }

  private grantable(locks: KeyLocks, request: Request): boolean {
    for (const [holder, held] of locks.holders) {
      if (holder !== request.txid && !modesCompatible(held, request.mode)) return false;
    }
    return true;
  }

  private txnOf(txid: string, ts: Timestamp): TxnLocks {
    let txn = this.txns.get(txid);
    if (!txn) this.txns.set(txid, (txn = { ts, held: new Map(), waiting: new Map() }));
    return txn;
  }

  private tsOf(txid: string): Timestamp {
    const txn = this.txns.get(txid);
    if (!txn) invariantBroken(`twopl: ${txid} holds or waits for a lock but is not in the table`);
    return txn.ts;
  }

  /** A broken invariant here is a bug in this table: fail loudly rather than grant a wrong lock. */
  private assertKey(key: string): void {
    const locks = this.keys.get(key);
    if (!locks) return;
    const fail = (what: string): never => {
      invariantBroken(`twopl: lock table invariant broken on ${key}: ${what}`);
    };
    if (locks.holders.size === 0 && locks.queue.length === 0) fail('an empty entry was kept');
    if (locks.holders.size > 1 && [...locks.holders.values()].includes('exclusive')) fail('an exclusive lock is shared with another holder');
    for (const [holder, held] of locks.holders) {
      if (this.txns.get(holder)?.held.get(key) !== held) fail(`${holder} holds ${held} but its own record disagrees`);
    }
    const seen = new Set<string>();
    let ordinarySeen = false;
    for (const request of locks.queue) {
      if (seen.has(request.txid)) fail(`${request.txid} is queued twice`);
      seen.add(request.txid);
      if (this.txns.get(request.txid)?.waiting.get(key) !== request.mode) fail(`${request.txid} waits for ${request.mode} but its own record disagrees`);
      const held = locks.holders.get(request.txid);
      if (held !== undefined && covers(held, request.mode)) fail(`${request.txid} waits for ${request.mode} but already holds ${held}`);
      if (request.upgrade !== (held !== undefined)) fail(`${request.txid}'s request is marked upgrade=${request.upgrade} but it holds ${held ?? 'nothing'}`);
      if (request.upgrade && ordinarySeen) fail(`${request.txid}'s upgrade is queued behind an ordinary request`);
      if (!request.upgrade) ordinarySeen = true;
    }
    // Nothing may sit at the front of a queue that the holders allow: it would wait forever.
    if (locks.queue.length > 0 && this.grantable(locks, locks.queue[0]!)) fail(`${locks.queue[0]!.txid} waits at the front although nothing blocks it`);
  }
}
