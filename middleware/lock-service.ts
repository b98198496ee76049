// The home side of strict 2PL: the lock table for the keys this middleware homes. A lock
// request is answered only when every lock it asks for is granted: the grant is the
// message a waiting transaction waits for (notification, never polling).
import { LockTable, type DeadlockPolicy, type LockMode } from '../twopl/lock-table.js';
import type { Timestamp } from '../timestamp/timestamp.js';

export type LockOutcome =
  | { granted: true }
  | { granted: false; reason: 'die' | 'leaving'; detail: string };

interface PendingRequest {
  txid: string;
  ts: Timestamp;
  locks: Array<{ key: string; mode: LockMode }>;
  /** Index of the lock being waited for. */
  next: number;
  resolve: (outcome: LockOutcome) => void;
}

export class LockService {
  readonly table: LockTable;
  private readonly pending = new Map<string, PendingRequest>();
  private leaving = false;

  constructor(policy: DeadlockPolicy, private readonly homeName: string) {
    this.table = new LockTable(policy);
  }

  /** Locks `locks` in order for txid; resolves when all are granted or the requester must die. */
  lock(txid: string, ts: Timestamp, locks: Array<{ key: string; mode: LockMode }>): Promise<LockOutcome> {
    if (this.leaving) return Promise.resolve({ granted: false, reason: 'leaving', detail: `${this.homeName} is leaving and grants no new locks` });
    if (this.pending.has(txid)) throw new Error(`lock service: ${txid} already has a request waiting at ${this.homeName}`);
    return new Promise((resolve) => this.advance({ txid, ts, locks, next: 0, resolve }));
  }

  /** Releases everything txid holds here and cancels its waiting request; wakes the requests this grants. */
  release(txid: string): void {
    const own = this.pending.get(txid);
    if (own) {
      this.pending.delete(txid);
      own.resolve({ granted: false, reason: 'die', detail: 'released while waiting' });
    }
    for (const grant of this.table.releaseAll(txid)) {
      const waiting = this.pending.get(grant.txid);
      if (!waiting || waiting.locks[waiting.next]?.key !== grant.key) continue;
      this.pending.delete(grant.txid);
      waiting.next += 1;
      this.advance(waiting);
    }
  }

  beginLeaving(): void {
    this.leaving = true;
  }

  get transactionCount(): number {
    return this.table.transactionCount;
  }

  private advance(request: PendingRequest): void {
    for (; request.next < request.locks.length; request.next++) {
      const { key, mode } = request.locks[request.next]!;
      const result = this.table.acquire(request.txid, request.ts, key, mode);
      if (result.result === 'granted') continue;
      if (result.result === 'waiting') {
        this.pending.set(request.txid, request);
        return;
      }
      request.resolve({ granted: false, reason: 'die', detail: `${key} is locked by ${result.conflictWith}` });
      return;
    }
    request.resolve({ granted: true });
  }
}
