// The strict two-phase-locking baseline (the design document, "The baseline: strict two-phase
// locking"): the shell around the pure core in twopl/node.ts. The core decides everything (which
// homes to ask, when to read, the timestamps, when to release, when to restart); this shell
// only carries its effects out and feeds the results back in: lock requests and releases to
// the other middlewares over their connections (with timeouts, and retried releases), reads and
// APPLYs to the replicas, the interpreter, and the retry loop with its back-off. It also answers
// the other middlewares' lock requests for the keys this middleware homes. Views come in from
// the view keeper (middleware/views.ts) as the core's view-stop, view-install and removed.
import { databasesOf } from '../view/changes.js';
import { TwoPhaseLockingNode, type LockAnswer, type LockRequest, type TwoPhaseLockingEffect, type TwoPhaseLockingEvent } from '../twopl/node.js';
import { TIMESTAMP_ZERO, formatTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import { accessesOf } from '../transaction/footprint.js';
import { interpret, type InterpreterOutcome } from '../transaction/interpreter.js';
import { endedResult, keepsWrites } from '../transaction/results.js';
import { runWithRetries, type AttemptOutcome, type TransactionLimits } from '../transaction/retry.js';
import { TxidSource } from '../transaction/txid.js';
import type { Key, TxnId } from '../transaction/types.js';
import { Workspace } from '../transaction/workspace.js';
import type { RequestLink } from '../protocol/connection.js';
import { OccdbError, isUnavailableError } from '../errors/catalogue.js';
import type { View } from '../view/types.js';
import type { Logger } from '../runtime/log.js';
import { type Command, type Entry, type PeerRequest, type TxnResult } from '../protocol/schemas.js';
import type { EngineStatus, TransactionEngine } from './engine.js';
import { LeftViewError, type ReplicaSet } from './replicas.js';
import { InstallGate } from './install-gate.js';
import { invariantBroken } from '../errors/invariant.js';
import { TraceEvent, type Trace } from '../metrics/traces.js';
import type { TransactionObserver } from '../metrics/transactions.js';

/** How long a lock request may wait at its home before the transaction gives up and restarts. */
export const LOCK_WAIT_TIMEOUT_MS = 30_000;
const RELEASE_ATTEMPTS_MAX = 5;
const RELEASE_TIMEOUT_MS = 5_000;

export interface TwoPhaseLockingOptions {
  id: number;
  strategy: '2pl' | '2pl-nowait';
  replicas: ReplicaSet;
  peer: (member: number) => RequestLink;
  logger: Logger;
  limits: TransactionLimits;
  magic: (args: readonly [number, number, number]) => string;
  /** A database said this life is over (FENCED): the middleware rejoins as a new one. */
  onFenced?: (detail: string) => void;
  /** Counts aborts and lock waits by key, and the transactions' timelines (none in some tests). */
  observer?: TransactionObserver;
}

/**
 * Every key the block may touch, with the lock it needs: exclusive if it may write it, else
 * shared. Exclusive from the start, so two read-modify-writes never deadlock on an upgrade.
 */
function lockSetOf(commands: readonly Command[]): LockRequest[] {
  const locks: LockRequest[] = [];
  for (const [key, access] of accessesOf(commands)) locks.push({ key, mode: access === 'write' ? 'exclusive' : 'shared' });
  return locks;
}

/** One client transaction, across its attempts. */
interface Transaction {
  commands: Command[];
  end: 'commit' | 'rollback';
  locks: LockRequest[];
  /** Undefined until the first attempt began; then kept by every restart. */
  startTs: Timestamp | undefined;
  trace: Trace | undefined;
}

/** What the shell keeps of one attempt while the core runs it. */
interface RunningAttempt {
  transaction: Transaction;
  /** How many attempts came before this one (the result's `retries`). */
  number: number;
  /** The keys read and the replica's entries for them, in the same order. */
  keys: Key[];
  entries: Entry[];
  interpreted: InterpreterOutcome | undefined;
  /** Set when the shell gave up on the attempt: it ends by throwing this, as the engine always did. */
  error: unknown;
  resolve(outcome: AttemptOutcome): void;
  reject(error: unknown): void;
}

const NO_KEYS: Key[] = [];
const NO_ENTRIES: Entry[] = [];

export class TwoPhaseLockingEngine implements TransactionEngine {
  readonly strategy: '2pl' | '2pl-nowait';
  private readonly node: TwoPhaseLockingNode;
  /** Timestamp counters of the transactions whose APPLYs are on their way, by transaction. */
  private readonly applying = new Map<TxnId, number>();
  private readonly txids: TxidSource;
  private readonly attempts = new Map<TxnId, RunningAttempt>();
  /** Other middlewares' lock requests waiting for this home's answer, by transaction. */
  private readonly lockReplies = new Map<TxnId, (answer: LockAnswer) => void>();
  private running = 0;
  /** Where transactions wait, between views, to begin. */
  private readonly gate: InstallGate;
  /** Called when no decided transaction is left unfinished (a view-stop waits for it). */
  private drainedWaiters: Array<() => void> = [];

  constructor(private readonly options: TwoPhaseLockingOptions) {
    this.strategy = options.strategy;
    this.node = new TwoPhaseLockingNode({
      id: options.id,
      policy: options.strategy === '2pl' ? 'wait-die' : 'no-wait',
      replicas: options.replicas.ids,
    });
    this.txids = new TxidSource(options.id, process.pid, Date.now());
    this.gate = new InstallGate(options.id, () => this.node.stopped);
  }

  async run(commands: Command[], end: 'commit' | 'rollback', trace?: Trace): Promise<TxnResult> {
    this.running += 1;
    try {
      const transaction: Transaction = { commands, end, locks: lockSetOf(commands), startTs: undefined, trace };
      return await runWithRetries(
        async (number) => {
          // Between views nothing begins (the core would restart it at once): wait for the install.
          await this.gate.pass();
          return new Promise<AttemptOutcome>((resolve, reject) => {
            const txid = this.txids.next();
            this.attempts.set(txid, { transaction, number, keys: NO_KEYS, entries: NO_ENTRIES, interpreted: undefined, error: undefined, resolve, reject });
            trace?.note(TraceEvent.locksAsked, transaction.locks.length);
            this.dispatch({ type: 'begin', txid, startTs: transaction.startTs, locks: transaction.locks });
          });
        },
        { middlewareId: this.options.id, limits: this.options.limits, random: Math.random, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
      );
    } finally {
      this.running -= 1;
    }
  }

  private dispatch(event: TwoPhaseLockingEvent): void {
    for (const effect of this.node.handle(event)) this.execute(effect);
    const contention = this.node.home.contention;
    if (contention.waited.length > 0 || contention.refused.length > 0) this.takeContention(contention);
    if (this.drainedWaiters.length > 0 && this.node.decidedCount === 0) {
      const waiters = this.drainedWaiters;
      this.drainedWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }


  /** The keys the home noted as making requests wait or die go to the hot-key counts. */
  private takeContention(contention: { waited: Key[]; refused: Key[] }): void {
    for (const key of contention.waited) this.options.observer?.waited(key);
    for (const key of contention.refused) this.options.observer?.hotKeys.aborted(key);
    contention.waited.length = 0;
    contention.refused.length = 0;
  }

  private execute(effect: TwoPhaseLockingEffect): void {
    switch (effect.type) {
      case 'send-lock-request':
        void this.requestLocks(effect);
        return;
      case 'send-release':
        void this.releaseAt(effect.to, effect.epoch, effect.txid);
        return;
      case 'lock-answered': {
        const reply = this.lockReplies.get(effect.txid);
        this.lockReplies.delete(effect.txid);
        reply?.(effect.answer);
        return;
      }
      case 'read':
        this.traceOf(effect.txid)?.note(TraceEvent.locksGranted);
        this.read(effect.txid, effect.keys);
        return;
      case 'run':
        // Straight after the grant when there is nothing to read.
        if (this.attempts.get(effect.txid)?.keys === NO_KEYS) this.traceOf(effect.txid)?.note(TraceEvent.locksGranted);
        void this.runBlock(effect.txid);
        return;
      case 'apply':
        this.applying.set(effect.txid, effect.ts[0]);
        this.traceOf(effect.txid)?.note(TraceEvent.applySent, effect.replicas.length);
        for (const replica of effect.replicas) {
          this.options.replicas.apply(replica, effect.ts, effect.writes).then(
            () => {
              this.traceOf(effect.txid)?.note(TraceEvent.applied, replica);
              this.dispatch({ type: 'replica-acked', txid: effect.txid, replica });
            },
            (error: unknown) => {
              // The view being installed left this database out; the core no longer waits for it.
              if (error instanceof LeftViewError) return;
              if (!fenced(error)) return this.giveUp(effect.txid, error);
              // This life was removed: the view keeper drops every transaction (the core's
              // `removed`: no decided one releases its locks, its writes may still land), and
              // this one ends with its outcome unknown if it is still there.
              this.options.onFenced?.((error as Error).message);
              this.giveUp(effect.txid, outcomeUnknown(this.options.id));
            },
          );
        }
        return;
      case 'committed': {
        const attempt = this.take(effect.txid);
        if (this.options.logger.isDebugEnabled()) this.options.logger.debug(`commit at ${formatTimestamp(effect.ts)} after ${attempt.number} restarts`);
        attempt.resolve({ result: endedResult(attempt.interpreted!, attempt.transaction.end, effect.ts, attempt.number, this.options.id) });
        return;
      }
      case 'rolled-back': {
        const attempt = this.take(effect.txid);
        attempt.resolve({ result: endedResult(attempt.interpreted!, attempt.transaction.end, TIMESTAMP_ZERO, attempt.number, this.options.id) });
        return;
      }
      case 'aborted': {
        const attempt = this.take(effect.txid);
        attempt.transaction.startTs = effect.startTs;
        this.options.observer?.aborted(attempt.transaction.trace, effect.reason, undefined);
        if (this.options.logger.isDebugEnabled()) this.options.logger.debug(`restart ${effect.txid} (${formatTimestamp(effect.startTs)}): ${effect.reason}: ${effect.detail}`);
        attempt.resolve({ retry: { code: effect.reason === 'die' ? 'TXN_RETRIES_EXHAUSTED' : 'NODE_UNAVAILABLE', detail: effect.detail } });
        return;
      }
      case 'failed': {
        const attempt = this.take(effect.txid);
        attempt.reject(attempt.error ?? new Error(effect.detail));
        return;
      }
      case 'outcome-unknown': {
        const attempt = this.take(effect.txid);
        this.options.logger.warn(`${effect.txid} (${formatTimestamp(effect.ts)}) was decided when this middleware was removed; its outcome is unknown`);
        attempt.reject(outcomeUnknown(this.options.id));
        return;
      }
    }
  }

  private traceOf(txid: TxnId): Trace | undefined {
    return this.attempts.get(txid)?.transaction.trace;
  }

  private take(txid: TxnId): RunningAttempt {
    this.applying.delete(txid);
    const attempt = this.attempts.get(txid);
    if (!attempt) invariantBroken(`2pl: an outcome for ${txid}, which this engine is not running`);
    this.attempts.delete(txid);
    return attempt;
  }

  /** The shell cannot go on with the attempt: the core releases its locks, and the attempt throws `error`. */
  private giveUp(txid: TxnId, error: unknown): void {
    const attempt = this.attempts.get(txid);
    if (!attempt) return;
    attempt.error ??= error;
    this.dispatch({ type: 'attempt-failed', txid, detail: (error as Error)?.message ?? String(error) });
  }

  private async requestLocks(effect: Extract<TwoPhaseLockingEffect, { type: 'send-lock-request' }>): Promise<void> {
    let event: TwoPhaseLockingEvent;
    try {
      const reply = await this.options.peer(effect.to).request({ type: 'peer.lock', from: this.options.id, epoch: effect.epoch, txid: effect.txid, ts: effect.ts, locks: effect.locks }, LOCK_WAIT_TIMEOUT_MS);
      // The answer to a request is of the request's epoch.
      event = { type: 'lock-answer-received', epoch: effect.epoch, txid: effect.txid, home: effect.to, answer: reply };
    } catch (error) {
      if (!isUnavailableError(error)) return this.giveUp(effect.txid, error);
      event = { type: 'home-unavailable', txid: effect.txid, home: effect.to, detail: `MIDDLEWARE${effect.to}, home of ${effect.locks[0]!.key}, is unavailable: ${error.message}` };
    }
    this.dispatch(event);
  }

  /** Releases txid's locks at one home; retried, since a lock left behind blocks others. */
  private async releaseAt(home: number, epoch: number, txid: TxnId): Promise<void> {
    for (let attempt = 1; attempt <= RELEASE_ATTEMPTS_MAX; attempt++) {
      try {
        await this.options.peer(home).request({ type: 'peer.release', from: this.options.id, epoch, txid }, RELEASE_TIMEOUT_MS);
        return;
      } catch (error) {
        if (attempt === RELEASE_ATTEMPTS_MAX) this.options.logger.error(`could not release ${txid}'s locks at MIDDLEWARE${home}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }

  /** One read of every locked key: locked keys cannot change under us, so it is the transaction's view. */
  private read(txid: TxnId, keys: Key[]): void {
    const attempt = this.attempts.get(txid)!;
    attempt.keys = keys;
    this.options.replicas.read(keys).then(
      (entries) => {
        attempt.entries = entries;
        attempt.transaction.trace?.note(TraceEvent.read, keys.length);
        this.dispatch({ type: 'read-answered', txid, entries });
      },
      (error: unknown) => this.giveUp(txid, error),
    );
  }

  /** With every lock held and every key read: run the block in a fresh workspace. */
  private async runBlock(txid: TxnId): Promise<void> {
    const attempt = this.attempts.get(txid)!;
    const { commands, end, locks } = attempt.transaction;
    const workspace = new Workspace();
    attempt.keys.forEach((key, index) => {
      const entry = attempt.entries[index]!;
      workspace.recordRead(key, entry.version, entry.value);
    });
    let interpreted: InterpreterOutcome;
    try {
      interpreted = await interpret(commands, {
        workspace,
        readKeys: async (wanted) => {
          for (const key of wanted) {
            if (!locks.some((lock) => lock.key === key)) invariantBroken(`2pl: the block read ${key} without a lock`);
          }
        },
        magic: this.options.magic,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      });
    } catch (error) {
      return this.giveUp(txid, error);
    }
    attempt.interpreted = interpreted;
    attempt.transaction.trace?.note(TraceEvent.readEnded, attempt.keys.length);
    if (keepsWrites(interpreted, end)) this.dispatch({ type: 'finish-requested', txid, decision: 'commit', writes: workspace.writeSet });
    else this.dispatch({ type: 'finish-requested', txid, decision: 'rollback' });
  }

  onPeerRequest(request: PeerRequest): Promise<unknown> | undefined {
    if (request.type === 'peer.lock') {
      if (this.lockReplies.has(request.txid)) invariantBroken(`2pl: ${request.txid} already has a request waiting at MIDDLEWARE${this.options.id}`);
      return new Promise<LockAnswer>((resolve) => {
        // Set before the request goes in: the answer may come at once.
        this.lockReplies.set(request.txid, resolve);
        this.dispatch({ type: 'lock-requested', from: request.from, epoch: request.epoch, txid: request.txid, ts: request.ts, locks: request.locks });
      });
    }
    if (request.type === 'peer.release') {
      this.dispatch({ type: 'released', epoch: request.epoch, txid: request.txid });
      return Promise.resolve({});
    }
    return undefined;
  }

  clockValue(): number {
    return this.node.clock.value;
  }

  /**
   * Installing a view, step one at this member (docs/design.md, "Strict 2PL under the same
   * views"): the core restarts every undecided transaction and begins none; resolves with the
   * clock once every decided one is on every replica.
   */
  async stop(view: View): Promise<number> {
    this.dispatch({ type: 'view-stop', databases: databasesOf(view) });
    if (this.node.decidedCount > 0) await new Promise<void>((resolve) => this.drainedWaiters.push(resolve));
    return this.node.clock.value;
  }

  /** Installing a view, last step: homes over its members, empty lock tables, the clock past `clock`; transactions begin again. */
  install(view: View, clock: number): void {
    this.dispatch({ type: 'view-install', epoch: view.epoch, members: view.members.map((member) => member.id), clock, databases: databasesOf(view) });
    this.gate.open();
  }

  /** Every transaction of this life is dropped: the undecided run again in its next life, the decided end with TXN_OUTCOME_UNKNOWN. */
  removed(): void {
    this.dispatch({ type: 'removed' });
  }

  watermark(): number {
    let least = this.node.clock.value;
    for (const counter of this.applying.values()) least = Math.min(least, counter - 1);
    return least;
  }

  members(): number[] {
    return this.node.memberIds.filter((id) => id !== this.options.id);
  }

  busy(): boolean {
    return this.running > 0 || this.node.home.transactionCount > 0;
  }

  beginLeaving(): void {
    this.dispatch({ type: 'begin-leaving' });
  }

  status(): EngineStatus {
    return { clock: this.node.clock.value, commits: this.node.commits, aborts: this.node.aborts, inFlight: this.running, members: this.members(), lockedKeys: this.node.home.table.lockedKeyCount };
  }
}

function outcomeUnknown(id: number): OccdbError {
  return new OccdbError('TXN_OUTCOME_UNKNOWN', `MIDDLEWARE${id} was removed from the cluster after deciding to commit this transaction; it may or may not have committed: read its entries to know`);
}

function fenced(error: unknown): boolean {
  return error instanceof OccdbError && error.code === 'FENCED';
}
