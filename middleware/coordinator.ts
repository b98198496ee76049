// The shell around the pure optimistic core (occ/node.ts): it feeds events in and carries
// effects out over the network (reads, version reads and APPLYs to replicas, VALIDATE to
// peers) and resolves the promises of the transactions waiting on them. Every decision of
// the protocol, the read path's included, is the core's.
import { OccNode, type AbortReason, type Faults, type OccEffect, type OccEvent } from '../occ/node.js';
import type { ReadEntry, ReadId } from '../occ/read-path.js';
import type { Key, MiddlewareId, ReadSet, TxnId, Write } from '../transaction/types.js';
import type { RequestLink } from '../protocol/connection.js';
import type { Logger } from '../runtime/log.js';
import { formatTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import type { ReplicaSet } from './replicas.js';
import { TxidSource } from '../transaction/txid.js';

export const VOTE_TIMEOUT_MS = 5_000;

export type CommitOutcome =
  | { outcome: 'committed'; ts: Timestamp }
  | { outcome: 'aborted'; ts: Timestamp; reason: AbortReason; detail: string }
  /** The middleware is leaving the cluster and stamps nothing new. */
  | { outcome: 'leaving' };

export interface CoordinatorOptions {
  id: MiddlewareId;
  replicas: ReplicaSet;
  peerConnection: (member: MiddlewareId) => RequestLink;
  logger: Logger;
  faults?: Faults;
}

interface ReadWaiter {
  resolve: (entries: ReadEntry[]) => void;
  reject: (error: Error) => void;
}

export class Coordinator {
  readonly node: OccNode;
  private readonly waiting = new Map<TxnId, (outcome: CommitOutcome) => void>();
  /** Peer vote requests not answered yet, by the requesting transaction. */
  private readonly pendingVotes = new Map<TxnId, (vote: { vote: 'yes' | 'check' | 'no'; clock: number }) => void>();
  /**
   * Reads not done yet (parked in the core, or at a replica), by read id. Ids are reused once a
   * read is done, so this array stays as long as the most reads ever outstanding at once
   * (bounded by the transactions a middleware runs at once); a hash table set and cleared per
   * read cost measurably more in garbage collection.
   */
  private readonly reads: Array<ReadWaiter | undefined> = [];
  private readonly readIdsFree: ReadId[] = [];
  private readonly txids: TxidSource;

  constructor(private readonly options: CoordinatorOptions) {
    this.node = new OccNode({ id: options.id, replicas: options.replicas.ids, faults: options.faults });
    this.txids = new TxidSource(options.id, process.pid, Date.now());
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
  commit(txid: TxnId, readSet: ReadSet, writes: Write[]): Promise<CommitOutcome> {
    if (this.leaving) return Promise.resolve({ outcome: 'leaving' });
    return new Promise((resolve) => {
      this.waiting.set(txid, resolve);
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
  vote(request: { from: MiddlewareId; txid: TxnId; ts: Timestamp; readSet: ReadSet; writeKeys: Key[] }): Promise<{ vote: 'yes' | 'check' | 'no'; clock: number }> {
    return new Promise((resolve) => {
      this.pendingVotes.set(request.txid, resolve);
      this.dispatch({ type: 'vote-requested', from: request.from, txid: request.txid, ts: request.ts, readSet: request.readSet, writeKeys: request.writeKeys, nowMs: performance.now() });
    });
  }

  memberJoined(member: MiddlewareId, clock: number): void {
    this.dispatch({ type: 'member-joined', member, clock });
  }

  memberLeft(member: MiddlewareId): void {
    this.dispatch({ type: 'member-left', member });
  }

  /** This middleware's own JOIN is complete. */
  joined(): void {
    this.dispatch({ type: 'joined' });
  }

  private dispatch(event: OccEvent): void {
    for (const effect of this.node.handle(event)) this.execute(effect);
  }

  private execute(effect: OccEffect): void {
    switch (effect.type) {
      case 'read-replica':
        this.options.replicas.read(effect.keys, effect.atLeast, effect.waitMs).then(
          (entries) => this.dispatch({ type: 'read-answered', readId: effect.readId, entries }),
          (error: Error) => {
            this.dispatch({ type: 'read-failed', readId: effect.readId });
            this.readWaiter(effect.readId)?.reject(error);
          },
        );
        return;
      case 'read-done':
        this.readWaiter(effect.readId)?.resolve(effect.entries);
        return;
      case 'send-validate':
        for (const member of effect.to) void this.requestVote(member, effect);
        return;
      case 'vote': {
        const resolve = this.pendingVotes.get(effect.txid);
        this.pendingVotes.delete(effect.txid);
        if (effect.vote === 'no' && this.options.logger.isDebugEnabled()) this.options.logger.debug(`vote no on ${effect.txid} for MIDDLEWARE${effect.to}`);
        resolve?.({ vote: effect.vote, clock: effect.clock });
        return;
      }
      case 'read-versions':
        this.options.replicas.versions(effect.keys).then(
          (versions) => this.dispatch({ type: 'versions-read', txid: effect.txid, versions }),
          (error: Error) => {
            this.options.logger.warn(`version check of ${effect.txid} failed: ${error.message}`);
            this.dispatch({ type: 'versions-failed', txid: effect.txid });
          },
        );
        return;
      case 'apply':
        for (const replica of effect.replicas) {
          this.options.replicas.apply(replica, effect.ts, effect.writes).then(
            () => this.dispatch({ type: 'replica-acked', txid: effect.txid, replica }),
            (error: Error) => this.options.logger.error(`APPLY ${formatTimestamp(effect.ts)} to DATABASE${replica} abandoned: ${error.message}`),
          );
        }
        return;
      case 'committed':
        if (this.options.logger.isDebugEnabled()) this.options.logger.debug(`commit ${effect.txid} at ${formatTimestamp(effect.ts)}`);
        return this.resolve(effect.txid, { outcome: 'committed', ts: effect.ts });
      case 'aborted':
        if (this.options.logger.isDebugEnabled()) this.options.logger.debug(`abort ${effect.txid} at ${formatTimestamp(effect.ts)}: ${effect.reason}: ${effect.detail}`);
        return this.resolve(effect.txid, { outcome: 'aborted', ts: effect.ts, reason: effect.reason, detail: effect.detail });
    }
  }

  private async requestVote(member: MiddlewareId, effect: Extract<OccEffect, { type: 'send-validate' }>): Promise<void> {
    let event: OccEvent;
    try {
      const reply = await this.options.peerConnection(member).request(
        { type: 'peer.validate', from: this.options.id, txid: effect.txid, ts: effect.ts, readSet: effect.readSet, writeKeys: effect.writeKeys },
        VOTE_TIMEOUT_MS,
      );
      event = { type: 'vote-received', txid: effect.txid, voter: member, vote: reply.vote, clock: reply.clock };
    } catch (error) {
      this.options.logger.warn(`MIDDLEWARE${member} did not vote on ${effect.txid}: ${(error as Error).message}`);
      event = { type: 'vote-received', txid: effect.txid, voter: member, vote: 'timeout' };
    }
    this.dispatch(event);
  }

  private resolve(txid: TxnId, outcome: CommitOutcome): void {
    const resolve = this.waiting.get(txid);
    this.waiting.delete(txid);
    resolve?.(outcome);
  }
}
