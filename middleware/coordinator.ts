// The shell around the pure optimistic core (occ/node.ts): it feeds events in and carries
// effects out over the network (reads, version reads and APPLYs to replicas, VALIDATE to
// peers) and resolves the promises of the transactions waiting on them. Every decision of
// the protocol, the read path's included, is the core's.
import { OccNode, type AbortReason, type OccEffect, type OccEvent } from '../occ/node.js';
import type { MiddlewareFaults } from './faults.js';
import { InstallGate } from './install-gate.js';
import type { ReadEntry, ReadId } from '../occ/read-path.js';
import type { Key, MiddlewareId, ReadSet, ReplicaId, TxnId, Write } from '../transaction/types.js';
import type { RequestLink } from '../protocol/connection.js';
import type { Logger } from '../runtime/log.js';
import { formatTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import { LeftViewError, type ReplicaSet } from './replicas.js';
import { TxidSource } from '../transaction/txid.js';
import { OccdbError } from '../errors/catalogue.js';
import { TraceEvent, type Trace } from '../metrics/traces.js';
import type { TransactionObserver } from '../metrics/transactions.js';

export const VOTE_TIMEOUT_MS = 5_000;

export type CommitOutcome =
  | { outcome: 'committed'; ts: Timestamp }
  | { outcome: 'aborted'; ts: Timestamp; reason: AbortReason; detail: string }
  /** The middleware is leaving the cluster and stamps nothing new. */
  | { outcome: 'leaving' }
  /** Decided, then this middleware was removed: recovery may or may not have completed it. */
  | { outcome: 'unknown'; ts: Timestamp };

export interface CoordinatorOptions {
  id: MiddlewareId;
  replicas: ReplicaSet;
  peerConnection: (member: MiddlewareId) => RequestLink;
  logger: Logger;
  faults?: MiddlewareFaults;
  /** A database said this life is over (FENCED): the middleware rejoins as a new one. */
  onFenced: (detail: string) => void;
  /** Counts aborts and waits by key, and the transactions' timelines (none in some tests). */
  observer?: TransactionObserver;
}

type VoteAnswer = { vote: 'yes' | 'check' | 'no'; clock: number; key?: Key };

interface ReadWaiter {
  resolve: (entries: ReadEntry[]) => void;
  reject: (error: Error) => void;
}

export class Coordinator {
  readonly node: OccNode;
  private readonly waiting = new Map<TxnId, (outcome: CommitOutcome) => void>();
  /** Peer vote requests not answered yet, by the requesting transaction. */
  private readonly pendingVotes = new Map<TxnId, (vote: VoteAnswer) => void>();
  /** The timelines of the transactions being validated or applied, by transaction. */
  private readonly traces = new Map<TxnId, Trace>();
  /**
   * Reads not done yet (parked in the core, or at a replica), by read id. Ids are reused once a
   * read is done, so this array stays as long as the most reads ever outstanding at once
   * (bounded by the transactions a middleware runs at once); a hash table set and cleared per
   * read cost measurably more in garbage collection.
   */
  private readonly reads: Array<ReadWaiter | undefined> = [];
  private readonly readIdsFree: ReadId[] = [];
  private readonly txids: TxidSource;
  /** Where reads and commits wait while this node validates in no view. */
  private readonly gate: InstallGate;
  /** Called when nothing this node coordinates is left unfinished (a view-stop waits for it). */
  private drainedWaiters: Array<() => void> = [];

  constructor(private readonly options: CoordinatorOptions) {
    this.node = new OccNode({ id: options.id, replicas: options.replicas.ids, faults: options.faults });
    this.txids = new TxidSource(options.id, process.pid, Date.now());
    this.gate = new InstallGate(options.id, () => this.node.stopped);
  }

  /**
   * Every transaction of the life before is over: a removed life's outcomes were given (aborted,
   * or unknown), so reads and commits may wait for the next view like any others.
   */
  removed(): void {
    this.dispatch({ type: 'removed' });
  }

  /**
   * Installing a view, step one at this member: stop validating, abort what is undecided,
   * and resolve with the clock once every decided transaction is on every database.
   */
  async stop(databases?: ReplicaId[]): Promise<number> {
    const abortsBefore = this.node.aborts;
    const wasStopped = this.node.stopped;
    this.dispatch(databases ? { type: 'view-stop', databases } : { type: 'view-stop' });
    const decided = this.node.coordinatingCount;
    if (!wasStopped) this.options.logger.info(`stopped validating for a view change: ${this.node.aborts - abortsBefore} undecided transactions aborted (they run again in the new view), ${decided} decided ones to finish first`);
    if (decided > 0) await new Promise<void>((resolve) => this.drainedWaiters.push(resolve));
    return this.node.clock.value;
  }

  /** Installing a view, last step: validate in `epoch` with `members`, the clock past `clock`. */
  install(epoch: number, members: MiddlewareId[], clock: number, replaced: boolean, databases?: ReplicaId[]): void {
    this.dispatch(databases ? { type: 'view-install', epoch, members, clock, replaced, databases } : { type: 'view-install', epoch, members, clock, replaced });
    this.gate.open();
  }

  /** Every transaction of this life with a timestamp counter at or below this is finished. */
  watermark(): number {
    return this.node.unfinishedCounterMin() - 1;
  }


  newTxid(): TxnId {
    return this.txids.next();
  }

  /** Set when the middleware leaves: it must not stamp anything any more. */
  private leaving = false;

  stopStamping(): void {
    this.leaving = true;
  }

  /** Validation round and write phase for a transaction whose read phase is done. */
  commit(txid: TxnId, readSet: ReadSet, writes: Write[], trace?: Trace): Promise<CommitOutcome> {
    if (this.leaving) return Promise.resolve({ outcome: 'leaving' });
    // Between views the commit waits at the gate; in a view it goes on in this turn.
    if (this.gate.closed) return this.gate.pass().then(() => this.commitNow(txid, readSet, writes, trace));
    return this.commitNow(txid, readSet, writes, trace);
  }

  private commitNow(txid: TxnId, readSet: ReadSet, writes: Write[], trace: Trace | undefined): Promise<CommitOutcome> {
    return new Promise((resolve) => {
      this.waiting.set(txid, resolve);
      if (trace) this.traces.set(txid, trace);
      this.dispatch({ type: 'commit-requested', txid, readSet, writes });
    });
  }

  /**
   * The entries (value and version) of `keys`, in that order, for a transaction's read phase.
   * Where each comes from, and whether the read must first wait for one of this middleware's
   * own writers, is the core's decision (occ/read-path.ts). Rejects with the replica's error
   * when no replica answers.
   */
  read(keys: Key[]): Promise<ReadEntry[]> {
    if (this.gate.closed) return this.gate.pass().then(() => this.readNow(keys));
    return this.readNow(keys);
  }

  private readNow(keys: Key[]): Promise<ReadEntry[]> {
    const readId = this.readIdsFree.pop() ?? this.reads.length;
    return new Promise((resolve, reject) => {
      this.reads[readId] = { resolve, reject };
      this.dispatch({ type: 'read-requested', readId, keys, nowMs: performance.now() });
    });
  }

  /** The caller waiting for read `readId`; the id is free again. */
  private readWaiter(readId: ReadId): ReadWaiter | undefined {
    const waiting = this.reads[readId];
    this.reads[readId] = undefined;
    if (waiting) this.readIdsFree.push(readId);
    return waiting;
  }

  /** A peer's VALIDATE request: resolves with this middleware's vote (later, if the vote must wait). */
  vote(request: { from: MiddlewareId; epoch: number; txid: TxnId; ts: Timestamp; readSet: ReadSet; writeKeys: Key[] }): Promise<VoteAnswer> {
    return new Promise((resolve) => {
      this.pendingVotes.set(request.txid, resolve);
      this.dispatch({ type: 'vote-requested', from: request.from, epoch: request.epoch, txid: request.txid, ts: request.ts, readSet: request.readSet, writeKeys: request.writeKeys, nowMs: performance.now() });
    });
  }

  private dispatch(event: OccEvent): void {
    for (const effect of this.node.handle(event)) this.execute(effect);
    if (this.drainedWaiters.length > 0 && this.node.coordinatingCount === 0) {
      const waiters = this.drainedWaiters;
      this.drainedWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }

  /** A database refused this life: the middleware learns it was removed (and rejoins). */
  private fencedBy(error: unknown): boolean {
    if (!(error instanceof OccdbError) || error.code !== 'FENCED') return false;
    this.options.onFenced(error.message);
    return true;
  }

  private execute(effect: OccEffect): void {
    switch (effect.type) {
      case 'read-replica':
        this.options.replicas.read(effect.keys, effect.atLeast, effect.waitMs).then(
          (entries) => this.dispatch({ type: 'read-answered', readId: effect.readId, entries }),
          (error: Error) => {
            this.dispatch({ type: 'read-failed', readId: effect.readId });
            // Nothing is decided in a read phase: the transaction may run again, here once this
            // middleware has rejoined, or elsewhere.
            const failure = this.fencedBy(error) ? new OccdbError('NODE_UNAVAILABLE', `MIDDLEWARE${this.options.id} was removed from the cluster and is rejoining: ${error.message}`) : error;
            this.readWaiter(effect.readId)?.reject(failure);
          },
        );
        return;
      case 'read-done':
        this.readWaiter(effect.readId)?.resolve(effect.entries);
        return;
      case 'send-validate':
        this.traces.get(effect.txid)?.note(TraceEvent.votesAsked, effect.to.length);
        for (const member of effect.to) void this.requestVote(member, effect);
        return;
      case 'vote': {
        const resolve = this.pendingVotes.get(effect.txid);
        this.pendingVotes.delete(effect.txid);
        if (effect.vote === 'no' && this.options.logger.isDebugEnabled()) this.options.logger.debug(`vote no on ${effect.txid} for MIDDLEWARE${effect.to}`);
        if (effect.waitedOn !== undefined) this.options.observer?.waited(effect.waitedOn);
        resolve?.(effect.key === undefined ? { vote: effect.vote, clock: effect.clock } : { vote: effect.vote, clock: effect.clock, key: effect.key });
        return;
      }
      case 'read-versions':
        this.traces.get(effect.txid)?.note(TraceEvent.versionCheckBegan, effect.keys.length);
        this.options.replicas.versions(effect.keys).then(
          (versions) => {
            this.traces.get(effect.txid)?.note(TraceEvent.versionCheckEnded, 'read');
            this.dispatch({ type: 'versions-read', txid: effect.txid, versions });
          },
          (error: Error) => {
            if (!this.fencedBy(error)) this.options.logger.warn(`version check of ${effect.txid} failed: ${error.message}`);
            this.dispatch({ type: 'versions-failed', txid: effect.txid });
          },
        );
        return;
      case 'apply':
        if (this.options.faults?.crashAfterFirstApply) return this.applyOnceAndCrash(effect);
        if (this.firstApplyFault(effect)) return;
        this.traces.get(effect.txid)?.note(TraceEvent.applySent, effect.replicas.length);
        for (const replica of effect.replicas) {
          this.options.replicas.apply(replica, effect.ts, effect.writes).then(
            () => {
              this.traces.get(effect.txid)?.note(TraceEvent.applied, replica);
              this.dispatch({ type: 'replica-acked', txid: effect.txid, replica });
            },
            (error: Error) => {
              if (!this.fencedBy(error) && !(error instanceof LeftViewError)) this.options.logger.error(`APPLY ${formatTimestamp(effect.ts)} to DATABASE${replica} abandoned: ${error.message}`);
            },
          );
        }
        return;
      case 'confirm':
        this.traces.get(effect.txid)?.note(TraceEvent.decided);
        this.options.replicas.confirm(effect.ts).then(
          () => this.dispatch({ type: 'confirmed', txid: effect.txid }),
          (error: Error) => {
            if (!this.fencedBy(error)) this.options.logger.warn(`confirmation of ${effect.txid} failed: ${error.message}`);
            this.dispatch({ type: 'confirm-failed', txid: effect.txid });
          },
        );
        return;
      case 'outcome-unknown':
        this.options.logger.warn(`${effect.txid} (${formatTimestamp(effect.ts)}) was decided when this middleware was removed; its outcome is unknown`);
        return this.resolve(effect.txid, { outcome: 'unknown', ts: effect.ts });
      case 'committed':
        if (this.options.logger.isDebugEnabled()) this.options.logger.debug(`commit ${effect.txid} at ${formatTimestamp(effect.ts)}`);
        return this.resolve(effect.txid, { outcome: 'committed', ts: effect.ts });
      case 'aborted':
        if (this.options.logger.isDebugEnabled()) this.options.logger.debug(`abort ${effect.txid} at ${formatTimestamp(effect.ts)}: ${effect.reason}: ${effect.detail}`);
        this.options.observer?.aborted(this.traces.get(effect.txid), effect.reason, effect.key);
        return this.resolve(effect.txid, { outcome: 'aborted', ts: effect.ts, reason: effect.reason, detail: effect.detail });
    }
  }

  /** The crash-after-first-apply fault: one database gets the APPLY, then the process dies without a word. */
  private applyOnceAndCrash(effect: Extract<OccEffect, { type: 'apply' }>): void {
    const first = effect.replicas[0]!;
    this.options.logger.warn(`FAULT crash-after-first-apply: APPLY ${formatTimestamp(effect.ts)} goes to DATABASE${first} only, then this process kills itself`);
    this.options.replicas.apply(first, effect.ts, effect.writes).then(
      () => process.kill(process.pid, 'SIGKILL'),
      () => process.kill(process.pid, 'SIGKILL'),
    );
  }

  private firstApplyFaulted = false;

  /**
   * The pause-before-first-apply and hold-first-apply faults, on the first decided transaction
   * that writes: true when its APPLYs are held for good; after a pause, false (sent as usual).
   */
  private firstApplyFault(effect: Extract<OccEffect, { type: 'apply' }>): boolean {
    const faults = this.options.faults;
    if (this.firstApplyFaulted || !(faults?.holdFirstApply || faults?.pauseBeforeFirstApply)) return false;
    this.firstApplyFaulted = true;
    if (faults.holdFirstApply) {
      this.options.logger.warn(`FAULT hold-first-apply: the APPLYs of ${effect.txid} (${formatTimestamp(effect.ts)}) are never sent`);
      return true;
    }
    this.options.logger.warn(`FAULT pause-before-first-apply: this process stops itself before the APPLYs of ${effect.txid} (${formatTimestamp(effect.ts)}) leave`);
    process.kill(process.pid, 'SIGSTOP');
    this.options.logger.warn(`FAULT pause-before-first-apply: continued; the APPLYs of ${effect.txid} (${formatTimestamp(effect.ts)}) leave now`);
    return false;
  }

  private async requestVote(member: MiddlewareId, effect: Extract<OccEffect, { type: 'send-validate' }>): Promise<void> {
    let event: OccEvent;
    try {
      const reply = await this.options.peerConnection(member).request(
        { type: 'peer.validate', from: this.options.id, epoch: effect.epoch, txid: effect.txid, ts: effect.ts, readSet: effect.readSet, writeKeys: effect.writeKeys },
        VOTE_TIMEOUT_MS,
      );
      event = reply.key === undefined
        ? { type: 'vote-received', txid: effect.txid, voter: member, vote: reply.vote, clock: reply.clock }
        : { type: 'vote-received', txid: effect.txid, voter: member, vote: reply.vote, clock: reply.clock, key: reply.key };
    } catch (error) {
      this.options.logger.warn(`MIDDLEWARE${member} did not vote on ${effect.txid}: ${(error as Error).message}`);
      event = { type: 'vote-received', txid: effect.txid, voter: member, vote: 'timeout' };
    }
    this.traces.get(effect.txid)?.note(TraceEvent.vote, member, event.vote);
    this.dispatch(event);
  }

  private resolve(txid: TxnId, outcome: CommitOutcome): void {
    const resolve = this.waiting.get(txid);
    this.waiting.delete(txid);
    this.traces.delete(txid);
    resolve?.(outcome);
  }
}
