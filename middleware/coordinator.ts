// The shell around the pure optimistic core (occ/node.ts): it feeds events in and carries
// effects out over the network: VALIDATE to peers, version reads and APPLYs to replicas.
import { OccNode, type AbortReason, type Faults, type OccEffect, type OccEvent } from '../occ/node.js';
import type { Key, MiddlewareId, ReadSet, TxnId, Write } from '../transaction/types.js';
import type { RequestLink } from '../protocol/connection.js';
import type { Logger } from '../runtime/log.js';
import { formatTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import type { ReplicaSet } from './replicas.js';
import { RemoteWriters } from '../occ/remote-writers.js';
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

export class Coordinator {
  readonly node: OccNode;
  private readonly waiting = new Map<TxnId, (outcome: CommitOutcome) => void>();
  /** Peer vote requests not answered yet, by the requesting transaction. */
  private readonly pendingVotes = new Map<TxnId, (vote: { vote: 'yes' | 'check' | 'no'; clock: number }) => void>();
  /** Reads waiting until none of this middleware's transactions still being validated writes their keys. */
  private readonly readsWaiting = new Set<{ keys: readonly Key[]; resolve: () => void }>();
  /** Other middlewares' transactions this one voted for, by the keys they write. */
  private readonly remoteWriters = new RemoteWriters();
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
   * Resolves once none of this middleware's own transactions still being validated writes any
   * of `keys`. Read now, such a key would give the version before that write, and the reader
   * would be doomed if the writer commits: this middleware's own vote on it turns NO. So the
   * read waits for the writer's outcome instead of making a wasted attempt; a writer decided
   * committed is read from memory (decidedWrite). Nothing waits on a transaction still
   * reading (it is not stamped yet), so the wait cannot close a cycle.
   */
  whenUnwritten(keys: readonly Key[]): Promise<void> {
    if (!this.writtenUndecided(keys)) return Promise.resolve();
    return new Promise((resolve) => this.readsWaiting.add({ keys, resolve }));
  }

  private writtenUndecided(keys: readonly Key[]): boolean {
    return keys.some((key) => this.node.writtenUndecided(key));
  }

  /** The newest committed write of `key` by this middleware that is still being applied, if any. */
  decidedWrite(key: Key): { ts: Timestamp; write: Write } | undefined {
    return this.node.decidedWrite(key);
  }

  /** After a transaction of this middleware was decided: the reads no longer held back go ahead. */
  private releaseReads(): void {
    for (const waiting of this.readsWaiting) {
      if (this.writtenUndecided(waiting.keys)) continue;
      this.readsWaiting.delete(waiting);
      waiting.resolve();
    }
  }

  /** For those of `keys` another middleware's transaction is committing a write to: the version to wait for. */
  writesAwaited(keys: readonly Key[]): Array<[Key, Timestamp]> {
    return this.remoteWriters.awaited(keys, performance.now());
  }

  /** A read that waited for these versions is back. */
  writesSettled(awaited: ReadonlyArray<readonly [Key, Timestamp]>): void {
    for (const [key, ts] of awaited) this.remoteWriters.settled(key, ts);
  }

  /** A version was read in some read phase: the clock moves past it. */
  observeVersion(version: Timestamp): void {
    this.dispatch({ type: 'version-observed', version });
  }

  /** A peer's VALIDATE request: resolves with this middleware's vote (later, if the vote must wait). */
  vote(request: { from: MiddlewareId; txid: TxnId; ts: Timestamp; readSet: ReadSet; writeKeys: Key[] }): Promise<{ vote: 'yes' | 'check' | 'no'; clock: number }> {
    return new Promise((resolve) => {
      this.pendingVotes.set(request.txid, (vote) => {
        if (vote.vote !== 'no' && request.writeKeys.length > 0) this.remoteWriters.seen(request.writeKeys, request.ts, performance.now());
        resolve(vote);
      });
      this.dispatch({ type: 'vote-requested', from: request.from, txid: request.txid, ts: request.ts, readSet: request.readSet, writeKeys: request.writeKeys });
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
        // Decided: reads held back for it can take its writes now.
        if (this.readsWaiting.size > 0) this.releaseReads();
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
    if (this.readsWaiting.size > 0) this.releaseReads();
  }
}
