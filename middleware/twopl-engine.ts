// The strict two-phase-locking baseline (DESIGN.md "The baseline"). Every key's lock lives at
// its home middleware. A transaction locks everything its block may touch before it runs
// (exclusive for keys it writes, so two read-modify-writes never deadlock on an upgrade;
// shared for keys it only reads), reads, runs in its workspace, applies to every replica,
// and only then releases. Deadlocks are prevented by wait-die on the transaction's Lamport
// start timestamp (or by no-wait); a transaction that must die restarts keeping that
// timestamp, so it eventually is the oldest and cannot starve.
import { LamportClock } from '../timestamp/clock.js';
import { TIMESTAMP_ZERO, formatTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import { homeOf } from '../twopl/home.js';
import type { LockMode } from '../twopl/lock-table.js';
import { accessesOf } from '../transaction/footprint.js';
import { endedResult, keepsWrites } from '../transaction/results.js';
import { runWithRetries, type AttemptOutcome, type TransactionLimits } from '../transaction/retry.js';
import { TxidSource } from '../transaction/txid.js';
import { Workspace } from '../transaction/workspace.js';
import type { Connection } from '../protocol/connection.js';
import { isUnavailableError } from '../errors/catalogue.js';
import type { Logger } from '../runtime/log.js';
import { type Command, type PeerRequest, type TxnResult } from '../protocol/schemas.js';
import type { EngineStatus, TransactionEngine } from './engine.js';
import { interpret } from '../transaction/interpreter.js';
import { LockService, type LockOutcome } from './lock-service.js';
import type { ReplicaSet } from './replicas.js';

/** How long a lock request may wait at its home before the transaction gives up and restarts. */
export const LOCK_WAIT_TIMEOUT_MS = 30_000;
const RELEASE_ATTEMPTS_MAX = 5;
const RELEASE_TIMEOUT_MS = 5_000;

export interface TwoPhaseLockingOptions {
  id: number;
  strategy: '2pl' | '2pl-nowait';
  /** Every middleware of the cluster file, in its order: this fixes each key's home. */
  middlewareIds: number[];
  replicas: ReplicaSet;
  peer: (member: number) => Connection;
  logger: Logger;
  limits: TransactionLimits;
  magic: (args: readonly [number, number, number]) => string;
}

/** Every key the block may touch, with the lock it needs: exclusive if it may write it, else shared. */
function lockSetOf(commands: readonly Command[]): Map<string, LockMode> {
  const locks = new Map<string, LockMode>();
  for (const [key, access] of accessesOf(commands)) locks.set(key, access === 'write' ? 'exclusive' : 'shared');
  return locks;
}

type LockAttempt = LockOutcome | { granted: false; reason: 'unavailable'; detail: string };

export class TwoPhaseLockingEngine implements TransactionEngine {
  readonly strategy: '2pl' | '2pl-nowait';
  private readonly clock: LamportClock;
  private readonly lockService: LockService;
  private readonly memberSet = new Set<number>();
  private readonly txids: TxidSource;
  private commits = 0;
  private aborts = 0;
  private running = 0;

  constructor(private readonly options: TwoPhaseLockingOptions) {
    this.strategy = options.strategy;
    this.clock = new LamportClock(options.id);
    this.lockService = new LockService(options.strategy === '2pl' ? 'wait-die' : 'no-wait', `MIDDLEWARE${options.id}`);
    this.txids = new TxidSource(options.id, process.pid, Date.now());
  }

  async run(commands: Command[], end: 'commit' | 'rollback'): Promise<TxnResult> {
    this.running += 1;
    try {
      return await this.runAttempts(commands, end);
    } finally {
      this.running -= 1;
    }
  }

  private runAttempts(commands: Command[], end: 'commit' | 'rollback'): Promise<TxnResult> {
    const locks = lockSetOf(commands);
    // The start timestamp orders transactions for wait-die; a restart keeps it.
    const startTs = this.clock.tick();
    return runWithRetries(async (attempt): Promise<AttemptOutcome> => {
      const txid = this.txids.next();
      const homes = this.groupByHome(locks);
      // At the first refusal everything is released at once: that also cancels a request
      // still waiting at another home, so the transaction holds nothing while it backs off.
      let released = false;
      const releaseOnce = () => {
        if (released) return;
        released = true;
        this.releaseEverywhere(txid, [...homes.keys()]);
      };
      const outcomes = await Promise.all([...homes].map(async ([home, homeLocks]) => {
        const outcome = await this.lockAt(home, txid, startTs, homeLocks);
        if (!outcome.granted) releaseOnce();
        return outcome;
      }));
      const refused = outcomes.find((outcome) => !outcome.granted) as Exclude<LockAttempt, { granted: true }> | undefined;
      if (!refused) {
        try {
          return { result: await this.runLocked(commands, end, locks, attempt) };
        } finally {
          releaseOnce();
        }
      }
      releaseOnce();
      this.aborts += 1;
      if (this.options.logger.isDebugEnabled()) this.options.logger.debug(`restart ${txid} (${formatTimestamp(startTs)}): ${refused.reason}: ${refused.detail}`);
      return { retry: { code: refused.reason === 'die' ? 'TXN_RETRIES_EXHAUSTED' : 'NODE_UNAVAILABLE', detail: refused.detail } };
    }, { middlewareId: this.options.id, limits: this.options.limits, random: Math.random, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) });
  }

  /** With every lock held: read, run in the workspace, apply to every replica. */
  private async runLocked(commands: Command[], end: 'commit' | 'rollback', locks: Map<string, LockMode>, attempt: number): Promise<TxnResult> {
    const workspace = new Workspace();
    const keys = [...locks.keys()];
    if (keys.length > 0) {
      // Locked keys cannot change under us, so one read of them all is the transaction's view.
      // Written keys are read too: their versions move the clock, so the commit timestamp is
      // larger than the version of every key the transaction overwrites (Thomas rule order).
      const entries = await this.options.replicas.read(keys);
      keys.forEach((key, index) => {
        const entry = entries[index]!;
        this.clock.observe(entry.version);
        workspace.recordRead(key, entry.version, entry.value);
      });
    }
    const interpreted = await interpret(commands, {
      workspace,
      readKeys: async (wanted) => {
        const unlocked = wanted.filter((key) => !locks.has(key));
        if (unlocked.length > 0) throw new Error(`2pl: the block read ${unlocked.join(', ')} without a lock`);
      },
      magic: this.options.magic,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    if (!keepsWrites(interpreted, end)) return endedResult(interpreted, end, TIMESTAMP_ZERO, attempt, this.options.id);
    const commitTs = this.clock.tick();
    const writes = workspace.writeSet;
    if (writes.length > 0) await Promise.all(this.options.replicas.ids.map((replica) => this.options.replicas.apply(replica, commitTs, writes)));
    this.commits += 1;
    if (this.options.logger.isDebugEnabled()) this.options.logger.debug(`commit at ${formatTimestamp(commitTs)} after ${attempt} restarts`);
    return endedResult(interpreted, end, commitTs, attempt, this.options.id);
  }

  private groupByHome(locks: Map<string, LockMode>): Map<number, Array<{ key: string; mode: LockMode }>> {
    const homes = new Map<number, Array<{ key: string; mode: LockMode }>>();
    for (const [key, mode] of locks) {
      const home = homeOf(key, this.options.middlewareIds);
      let list = homes.get(home);
      if (!list) homes.set(home, (list = []));
      list.push({ key, mode });
    }
    return homes;
  }

  private async lockAt(home: number, txid: string, ts: Timestamp, locks: Array<{ key: string; mode: LockMode }>): Promise<LockAttempt> {
    if (home === this.options.id) return this.lockService.lock(txid, ts, locks);
    try {
      const reply = await this.options.peer(home).request({ type: 'peer.lock', from: this.options.id, txid, ts, locks }, LOCK_WAIT_TIMEOUT_MS);
      if (reply.granted) {
        this.clock.observe(reply.clock);
        return { granted: true };
      }
      return reply;
    } catch (error) {
      if (isUnavailableError(error)) {
        return { granted: false, reason: 'unavailable', detail: `MIDDLEWARE${home}, home of ${locks[0]!.key}, is unavailable: ${error.message}` };
      }
      throw error;
    }
  }

  /** Releases txid's locks at every home it asked; retried, since a lock left behind blocks others. */
  private releaseEverywhere(txid: string, homes: number[]): void {
    for (const home of homes) {
      if (home === this.options.id) {
        this.lockService.release(txid);
        continue;
      }
      void (async () => {
        for (let attempt = 1; attempt <= RELEASE_ATTEMPTS_MAX; attempt++) {
          try {
            await this.options.peer(home).request({ type: 'peer.release', from: this.options.id, txid }, RELEASE_TIMEOUT_MS);
            return;
          } catch (error) {
            if (attempt === RELEASE_ATTEMPTS_MAX) this.options.logger.error(`could not release ${txid}'s locks at MIDDLEWARE${home}: ${(error as Error).message}`);
            await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
          }
        }
      })();
    }
  }

  onPeerRequest(request: PeerRequest): Promise<unknown> | undefined {
    if (request.type === 'peer.lock') {
      this.clock.observe(request.ts);
      return this.lockService.lock(request.txid, request.ts, request.locks).then((outcome) => (outcome.granted ? { granted: true, clock: this.clock.value } : outcome));
    }
    if (request.type === 'peer.release') {
      this.lockService.release(request.txid);
      return Promise.resolve({});
    }
    return undefined;
  }

  clockValue(): number {
    return this.clock.value;
  }

  memberJoined(member: number, clock: number): void {
    this.clock.observe(clock);
    if (member !== this.options.id) this.memberSet.add(member);
  }

  memberLeft(member: number): void {
    this.memberSet.delete(member);
  }

  joined(): void {
    // Nothing to learn: locks are homed by the cluster file's fixed list.
  }

  members(): number[] {
    return [...this.memberSet].sort((a, b) => a - b);
  }

  busy(): boolean {
    return this.running > 0 || this.lockService.transactionCount > 0;
  }

  beginLeaving(): void {
    this.lockService.beginLeaving();
  }

  status(): EngineStatus {
    return { clock: this.clock.value, commits: this.commits, aborts: this.aborts, inFlight: this.running, members: this.members(), lockedKeys: this.lockService.table.lockedKeyCount };
  }
}
