// The optimistic protocol of one middleware as a pure state machine.
// Events go in (a transaction asks to read or to commit, a replica answered a read, a vote
// request or a vote arrives, versions were read, a replica acknowledged, a member joined or
// left); effects come out as data (read a replica, a read is done, send validation requests,
// answer a vote, read versions, apply, report an outcome). Time comes in on events. The
// middleware's server and the seeded simulator are two shells around the same core.
import { LamportClock } from '../timestamp/clock.js';
import { isBefore, timestampsEqual, type Timestamp } from '../timestamp/timestamp.js';
import { FinishedWrites, FINISHED_WRITES_MAX_DEFAULT } from './finished-writes.js';
import { InFlightTable } from './in-flight.js';
import { ReadPath, type ReadEffect, type ReadEvent } from './read-path.js';
import { decideVote, type Vote, type VoteRequest } from './vote.js';
import type { Key, MiddlewareId, ReadSet, ReplicaId, TxnId, Write } from '../transaction/types.js';
import { invariantBroken } from '../errors/invariant.js';

/**
 * `view-change`: a view is being installed (undecided transactions abort and run again once it
 * is); `removed`: a newer view removed this middleware.
 */
export type AbortReason = 'vote-no' | 'vote-timeout' | 'stale-read' | 'replica-unavailable' | 'view-change' | 'removed';

export type OccEvent =
  | ReadEvent
  | { type: 'commit-requested'; txid: TxnId; readSet: ReadSet; writes: Write[] }
  /** `nowMs`: when the request arrived (a remote writer voted for is remembered from then on). */
  | { type: 'vote-requested'; from: MiddlewareId; epoch: number; txid: TxnId; ts: Timestamp; readSet: ReadSet; writeKeys: Key[]; nowMs: number }
  /** `key`: with a NO for a conflict, the key the voter found in conflict. */
  | { type: 'vote-received'; txid: TxnId; voter: MiddlewareId; vote: 'yes' | 'check' | 'no' | 'timeout'; clock?: number; key?: Key }
  | { type: 'versions-read'; txid: TxnId; versions: Timestamp[] }
  | { type: 'versions-failed'; txid: TxnId }
  | { type: 'replica-acked'; txid: TxnId; replica: ReplicaId }
  /** A read-only transaction's confirmation that this node was still a member after its last vote (or its failure). */
  | { type: 'confirmed'; txid: TxnId }
  | { type: 'confirm-failed'; txid: TxnId }
  /**
   * A view is being installed: stop validating in this one. Undecided transactions abort, votes
   * asked are answered NO; decided ones go on to finish (the installer waits for them).
   */
  /** `databases`: the new view's replicas and joining databases, where decided writes must land (absent: unchanged). */
  | { type: 'view-stop'; databases?: ReplicaId[] }
  /**
   * Validate in view `epoch` with these `members` (this node among them), after moving the
   * clock past `clock`. `replaced`: a member of the previous view is not in this one (removed,
   * or replaced by a new life), so what it remembered of its finished writes is gone.
   */
  | { type: 'view-install'; epoch: number; members: MiddlewareId[]; clock: number; replaced: boolean; databases?: ReplicaId[] }
  /**
   * A newer view removed this node: it drops every transaction. Decided ones may or may not be
   * completed by the recovery of the view that removed it: their outcome is unknown.
   */
  | { type: 'removed' };

export type OccEffect =
  | ReadEffect
  | { type: 'send-validate'; to: MiddlewareId[]; epoch: number; txid: TxnId; ts: Timestamp; readSet: ReadSet; writeKeys: Key[] }
  /**
   * This node's vote on `txid`, for the coordinator `to` (possibly given later than the request:
   * deferred). `key`: with a NO for a conflict, the key in conflict; `waitedOn`: the vote waited
   * because of this key (a write of this node's undecided or unfinished transaction).
   */
  | { type: 'vote'; txid: TxnId; to: MiddlewareId; vote: 'yes' | 'check' | 'no'; clock: number; key?: Key; waitedOn?: Key }
  | { type: 'read-versions'; txid: TxnId; keys: Key[] }
  | { type: 'apply'; txid: TxnId; ts: Timestamp; writes: Write[]; replicas: ReplicaId[] }
  /**
   * Ask the databases whether this node is still a member, after the last vote of a read-only
   * transaction stamped `ts`. They count `ts` in their largest version: no peer saw it (a sole
   * member's read-only transaction asks none), and a later life's INSTALL clock must go above it.
   */
  | { type: 'confirm'; txid: TxnId; ts: Timestamp }
  | { type: 'committed'; txid: TxnId; ts: Timestamp }
  /** `key`: the key whose vote or version made it fail, when one is known. */
  | { type: 'aborted'; txid: TxnId; ts: Timestamp; reason: AbortReason; detail: string; key?: Key }
  /** A decided transaction dropped when this node was removed: it may or may not be completed. */
  | { type: 'outcome-unknown'; txid: TxnId; ts: Timestamp };

type Phase = 'voting' | 'checking-versions' | 'confirming' | 'applying';

interface Coordinated {
  txid: TxnId;
  ts: Timestamp;
  readSet: ReadSet;
  writes: Write[];
  phase: Phase;
  votesAwaited: Set<MiddlewareId>;
  /** Some voter could not vouch for the reads: re-read the versions after the last vote. */
  versionCheckNeeded: boolean;
  acksAwaited: Set<ReplicaId>;
}

/** Test hooks that break the protocol on purpose, so tests can show the checkers catch it. */
export interface Faults {
  /** Every voter answers YES whatever it knows. */
  skipVotingRule?: boolean;
  /** Voters forget their finished transactions: a read that missed one is not caught by a vote. */
  skipFinishedWrites?: boolean;
  /** The coordinator commits without re-reading the versions of the read set, even when a voter asked for it. */
  skipVersionCheck?: boolean;
  /** Reads take the writes of this node's transactions still being validated, as if they had committed. */
  readUndecidedWrites?: boolean;
  /**
   * A read that asked its replica for at least a remote writer's version records that version
   * even when the replica's wait ran out and it gave an older one (at-least taken as a promise).
   */
  trustAwaitedVersions?: boolean;
  /** Votes do not wait for this node's decided but unfinished writes they read (recovery could still drop them). */
  skipFinishedWait?: boolean;
  /** A read-only transaction commits without asking the databases whether this node is still a member. */
  skipReadConfirmation?: boolean;
}

export interface OccNodeOptions {
  id: MiddlewareId;
  replicas: ReplicaId[];
  members?: MiddlewareId[];
  clockStart?: number;
  faults?: Faults;
  /** How many keys' finished writes a voter remembers (FinishedWrites). */
  finishedWritesMax?: number;
  /**
   * True when the node starts as a member of view `epoch` already (tests, the simulation's
   * initial nodes); otherwise it validates nothing until a view is installed.
   */
  joined?: boolean;
  epoch?: number;
  /**
   * Instead of voting NO at once because of one of its in-flight transactions still being
   * validated, a voter waits until that transaction is decided and decides then (the design
   * document allows it: a voter only ever waits for a smaller timestamp, so no cycle of waits
   * can form). If it aborted, the request may get YES; if it is decided committed, the answer is
   * NO at once, and the request's coordinator re-runs it after the decision instead of
   * re-reading too early.
   */
  deferVotes?: boolean;
  /** Reads wait behind this node's own writers still being validated (occ/read-path.ts; default on). */
  parkReads?: boolean;
  /** How long a replica may wait for the versions a read awaits (READ_WAIT_MS_DEFAULT). */
  readWaitMs?: number;
  /** How many keys' remote writers the node remembers (REMOTE_WRITERS_MAX_DEFAULT). */
  remoteWritersMax?: number;
  /** How long a remote writer is awaited after its vote (REMOTE_WRITER_TTL_MS_DEFAULT). */
  remoteWriterTtlMs?: number;
}

/** A vote asked of this node (by a peer, or by itself), possibly waiting for one of its in-flight transactions to resolve. */
interface VoteAsked extends VoteRequest {
  from: MiddlewareId;
  writeKeys: readonly Key[];
  /** When the request arrived. */
  nowMs: number;
  /** Set when the vote had to wait: the key it waited on. */
  waitedOn?: Key;
}

/** At most this many votes wait at once; beyond it a conflict is answered NO at once. */
export const DEFERRED_VOTES_MAX = 10_000;

export class OccNode {
  readonly id: MiddlewareId;
  readonly clock: LamportClock;
  readonly inFlight = new InFlightTable();
  readonly finished: FinishedWrites;
  /** in-flight txid -> vote requests waiting for it to resolve. */
  private readonly deferredVotes = new Map<TxnId, VoteAsked[]>();
  private deferredCount = 0;
  private readonly deferVotes: boolean;
  private replicas: ReplicaId[];
  private readonly members = new Set<MiddlewareId>();
  private readonly coordinated = new Map<TxnId, Coordinated>();
  private readonly faults: Faults;
  private readonly reads: ReadPath;
  private epochNow: number;
  /** True until a view is installed, and while one is being installed, or after removal. */
  private stoppedNow: boolean;
  commits = 0;
  aborts = 0;

  constructor(options: OccNodeOptions) {
    this.id = options.id;
    this.clock = new LamportClock(options.id, options.clockStart ?? 0);
    this.replicas = [...options.replicas];
    for (const member of options.members ?? []) if (member !== options.id) this.members.add(member);
    this.faults = options.faults ?? {};
    this.finished = new FinishedWrites(options.finishedWritesMax ?? FINISHED_WRITES_MAX_DEFAULT);
    this.deferVotes = options.deferVotes ?? true;
    if (options.joined) this.finished.joined(this.clock.value);
    this.epochNow = options.epoch ?? 0;
    this.stoppedNow = !options.joined;
    this.reads = new ReadPath(this, this.clock, {
      readWaitMs: options.readWaitMs,
      remoteWritersMax: options.remoteWritersMax,
      remoteWriterTtlMs: options.remoteWriterTtlMs,
      parkReads: options.parkReads,
      trustAwaitedVersions: this.faults.trustAwaitedVersions,
    });
    if (this.replicas.length === 0) invariantBroken('a middleware needs at least one replica');
  }

  /** The epoch of the view this node validates in (or last did). */
  get epoch(): number {
    return this.epochNow;
  }

  /** True while this node validates nothing: before its first view, while one is installed, after removal. */
  get stopped(): boolean {
    return this.stoppedNow;
  }

  /** The middlewares whose votes a commit needs now, this one excluded. */
  get memberIds(): MiddlewareId[] {
    return [...this.members].sort((a, b) => a - b);
  }

  get replicaIds(): ReplicaId[] {
    return [...this.replicas];
  }

  /** The smallest timestamp counter of a transaction this node coordinates and has not finished; above the clock when none. */
  unfinishedCounterMin(): number {
    let least = this.clock.value + 1;
    for (const txn of this.coordinated.values()) least = Math.min(least, txn.ts[0]);
    return least;
  }

  /** Transactions this node coordinates that have not reached an outcome. */
  get coordinatingCount(): number {
    return this.coordinated.size;
  }

  /** Keys answered from this node's own decided writes rather than by a replica, so far. */
  get readsFromMemory(): number {
    return this.reads.readsFromMemory;
  }

  /** Reads that waited for one of this node's writers to be decided, so far. */
  get readsParked(): number {
    return this.reads.readsParked;
  }

  /** Reads that asked their replica to wait for another middleware's writer, so far. */
  get readsAwaitingWriters(): number {
    return this.reads.readsAwaitingWriters;
  }

  /** Reads parked now, and reads a replica has not answered yet. */
  get readsPending(): { parked: number; atReplica: number } {
    return this.reads.pending;
  }

  /**
   * The newest write of `key` by a transaction of this node that is decided committed but not
   * yet applied everywhere; undefined when there is none, or when a transaction of this node
   * that writes `key` is still undecided (its outcome comes first). A read may take it instead
   * of asking a replica, which may not have it yet: the write is committed, the reader's
   * clock moves past it, and the read is validated like any other.
   */
  decidedWrite(key: Key): { ts: Timestamp; write: Write } | undefined {
    let newest: { ts: Timestamp; write: Write } | undefined;
    for (const writer of this.inFlight.writersOf(key)) {
      const txn = this.coordinated.get(writer.txid);
      if (!txn || (txn.phase !== 'applying' && !this.faults.readUndecidedWrites)) return undefined;
      if (newest && isBefore(txn.ts, newest.ts)) continue;
      const write = txn.writes.find((candidate) => candidate.key === key);
      if (write) newest = { ts: txn.ts, write };
    }
    return newest;
  }

  /** A transaction of this node that writes `key` and has not been decided yet, if any. */
  undecidedWriterOf(key: Key): TxnId | undefined {
    // With the fault, an undecided write is readable at once (decidedWrite): nothing to wait for.
    if (this.faults.readUndecidedWrites) return undefined;
    for (const writer of this.inFlight.writersOf(key)) {
      if (this.coordinated.get(writer.txid)?.phase !== 'applying') return writer.txid;
    }
    return undefined;
  }

  handle(event: OccEvent): OccEffect[] {
    switch (event.type) {
      case 'read-requested': return this.reads.requested(event);
      case 'read-answered': return this.reads.answered(event);
      case 'read-failed': return this.reads.failed(event);
      case 'commit-requested': return this.onCommitRequested(event);
      case 'vote-requested': return this.onVoteRequested(event);
      case 'vote-received': return this.onVoteReceived(event);
      case 'versions-read': return this.onVersionsRead(event);
      case 'versions-failed': return this.abortIfChecking(event.txid, 'replica-unavailable', 'no replica answered the version check');
      case 'replica-acked': return this.onReplicaAcked(event);
      case 'confirmed': return this.onConfirmed(event.txid);
      case 'confirm-failed': return this.abortIf(event.txid, 'confirming', 'replica-unavailable', 'the databases did not confirm this middleware is still a member');
      case 'view-stop': return this.onViewStop(event.databases);
      case 'view-install': return this.onViewInstall(event);
      case 'removed': return this.onRemoved();
    }
  }

  private onCommitRequested(event: Extract<OccEvent, { type: 'commit-requested' }>): OccEffect[] {
    if (this.coordinated.has(event.txid)) invariantBroken(`occ: ${event.txid} asked to commit twice`);
    if (this.stoppedNow) {
      this.aborts += 1;
      return [{ type: 'aborted', txid: event.txid, ts: [this.clock.value, this.id], reason: 'view-change', detail: `MIDDLEWARE${this.id} is not validating (a view is being installed)` }];
    }
    const ts = this.clock.tick();
    const writeKeys = event.writes.map((write) => write.key);
    const txn: Coordinated = {
      txid: event.txid,
      ts,
      readSet: event.readSet,
      writes: event.writes,
      phase: 'voting',
      votesAwaited: new Set(this.members),
      versionCheckNeeded: false,
      acksAwaited: new Set(),
    };
    this.coordinated.set(txn.txid, txn);
    // In flight from the moment it is stamped: from now on this node votes NO for any
    // larger-timestamp transaction that read an older version of a key this one writes.
    this.inFlight.add({ txid: txn.txid, ts, readSet: event.readSet, writeKeys: new Set(writeKeys) });
    // The coordinator votes too. Its vote may have to wait for one of its own in-flight
    // transactions; meanwhile the others are asked.
    txn.votesAwaited.add(this.id);
    const ownVote = this.decideOrDefer({ from: this.id, txid: txn.txid, ts, readSet: event.readSet, writeKeys, nowMs: 0 });
    const ownNo = ownVote.find((effect) => effect.type === 'vote' && effect.vote === 'no');
    if (ownNo) {
      const vote = this.vote({ txid: txn.txid, ts, readSet: event.readSet });
      const why = vote.vote === 'no' && vote.conflict.txid ? `${vote.conflict.txid} in flight writing ${vote.conflict.key}` : `a finished newer write`;
      return this.abort(txn, 'vote-no', `MIDDLEWARE${this.id} has ${why}`, vote.vote === 'no' ? vote.conflict.key : undefined);
    }
    const others = [...txn.votesAwaited].filter((member) => member !== this.id);
    const effects: OccEffect[] = others.length > 0 ? [{ type: 'send-validate', to: others, epoch: this.epochNow, txid: txn.txid, ts, readSet: event.readSet, writeKeys }] : [];
    return [...effects, ...this.route(ownVote)];
  }

  private onVoteRequested(event: Extract<OccEvent, { type: 'vote-requested' }>): OccEffect[] {
    // The clock moves past t before voting: any transaction this node stamps later gets a
    // larger timestamp than the request (case 1 of the serializability argument).
    this.clock.observe(event.ts);
    this.reads.observeTime(event.nowMs);
    // A coordinator in another view, or a view being installed: nothing validates across a
    // view change (an undecided transaction aborts and runs again in the new view).
    if (this.stoppedNow || event.epoch !== this.epochNow) return [{ type: 'vote', txid: event.txid, to: event.from, vote: 'no', clock: this.clock.value }];
    return this.route(this.decideOrDefer(event));
  }

  /** A vote now, or none yet when it must wait for one of this node's in-flight transactions. */
  private decideOrDefer(request: VoteAsked): OccEffect[] {
    if (this.stoppedNow) return [{ type: 'vote', txid: request.txid, to: request.from, vote: 'no', clock: this.clock.value }];
    const vote = this.vote(request);
    if (vote.vote === 'no' && vote.conflict.txid && this.deferVotes && this.undecided(vote.conflict.txid)) {
      if (this.defer(vote.conflict.txid, request, vote.conflict.key)) return [];
    }
    // The request read a write of this node's that is decided but not yet on every database: if
    // this node died now, recovery would drop that write if it had landed nowhere, and the
    // request would have read a value that never existed. So the vote waits until it is finished.
    if (vote.vote !== 'no' && !this.faults.skipFinishedWait) {
      const writer = this.unfinishedWriterRead(request.readSet);
      if (writer !== undefined) {
        if (this.defer(writer.txid, request, writer.key)) return [];
        return [this.voteEffect(request, 'no', writer.key)];
      }
    }
    // Another middleware's transaction that may commit now: reads of its keys will ask the
    // replicas for its version. Not after NO: that transaction will not commit.
    if (vote.vote !== 'no' && request.from !== this.id) this.reads.remoteWriterVoted(request.writeKeys, request.ts, request.nowMs);
    return [this.voteEffect(request, vote.vote, vote.vote === 'no' ? vote.conflict.key : undefined)];
  }

  /** The vote effect, with the key in conflict and the key waited on only when there are such. */
  private voteEffect(request: VoteAsked, vote: 'yes' | 'check' | 'no', key: Key | undefined): OccEffect {
    const effect: Extract<OccEffect, { type: 'vote' }> = { type: 'vote', txid: request.txid, to: request.from, vote, clock: this.clock.value };
    if (key !== undefined) effect.key = key;
    if (request.waitedOn !== undefined) effect.waitedOn = request.waitedOn;
    return effect;
  }

  /** Parks `request` until `txid` resolves (because of `key`); false when too many votes wait already. */
  private defer(txid: TxnId, request: VoteAsked, key: Key): boolean {
    if (this.deferredCount >= DEFERRED_VOTES_MAX) return false;
    request.waitedOn ??= key;
    const waiting = this.deferredVotes.get(txid);
    if (waiting) waiting.push(request);
    else this.deferredVotes.set(txid, [request]);
    this.deferredCount += 1;
    return true;
  }

  /** A transaction of this node, decided and not finished, whose write the read set read (at its timestamp). */
  private unfinishedWriterRead(readSet: ReadSet): { txid: TxnId; key: Key } | undefined {
    for (const [key, versionRead] of readSet) {
      for (const writer of this.inFlight.writersOf(key)) {
        if (!timestampsEqual(writer.ts, versionRead)) continue;
        if (this.coordinated.get(writer.txid)?.phase === 'applying') return { txid: writer.txid, key };
      }
    }
    return undefined;
  }

  /** Votes for this node's own transactions are taken in here; the others go out as effects. */
  private route(effects: OccEffect[]): OccEffect[] {
    const out: OccEffect[] = [];
    for (const effect of effects) {
      if (effect.type === 'vote' && effect.to === this.id) {
        out.push(...this.onVoteReceived({ type: 'vote-received', txid: effect.txid, voter: this.id, vote: effect.vote, key: effect.key }));
      } else {
        out.push(effect);
      }
    }
    return out;
  }

  /** `txid` (one of this node's) resolved: the votes that waited for it are decided again. */
  private releaseDeferred(txid: TxnId): OccEffect[] {
    const waiting = this.deferredVotes.get(txid);
    if (!waiting) return [];
    this.deferredVotes.delete(txid);
    this.deferredCount -= waiting.length;
    const effects: OccEffect[] = [];
    for (const request of waiting) effects.push(...this.route(this.decideOrDefer(request)));
    return effects;
  }

  private vote(request: { txid: TxnId; ts: Timestamp; readSet: ReadSet }): Vote {
    if (this.faults.skipVotingRule) return { vote: 'yes' };
    return decideVote(request, this.inFlight, this.faults.skipFinishedWrites ? undefined : this.finished);
  }

  private onVoteReceived(event: Extract<OccEvent, { type: 'vote-received' }>): OccEffect[] {
    if (event.clock !== undefined) this.clock.observe(event.clock);
    const txn = this.coordinated.get(event.txid);
    if (!txn || txn.phase !== 'voting' || !txn.votesAwaited.has(event.voter)) return [];
    if (event.vote === 'no') return this.abort(txn, 'vote-no', `MIDDLEWARE${event.voter} voted no`, event.key);
    if (event.vote === 'timeout') return this.abort(txn, 'vote-timeout', `MIDDLEWARE${event.voter} did not vote in time`);
    if (event.vote === 'check') txn.versionCheckNeeded = true;
    txn.votesAwaited.delete(event.voter);
    return txn.votesAwaited.size === 0 ? this.startVersionCheck(txn) : [];
  }

  /**
   * Step 4: only after the last vote, and only when some voter could not vouch for the reads,
   * re-read the versions of the read set. When every voter vouched, the votes already cover
   * every committed write the reads could have missed (in flight, or finished at its
   * coordinator), so the check could not fail.
   */
  private startVersionCheck(txn: Coordinated): OccEffect[] {
    if (txn.readSet.length === 0 || !txn.versionCheckNeeded || this.faults.skipVersionCheck) return this.commit(txn);
    txn.phase = 'checking-versions';
    return [{ type: 'read-versions', txid: txn.txid, keys: txn.readSet.map(([key]) => key) }];
  }

  private onVersionsRead(event: Extract<OccEvent, { type: 'versions-read' }>): OccEffect[] {
    const txn = this.coordinated.get(event.txid);
    if (!txn || txn.phase !== 'checking-versions') return [];
    if (event.versions.length !== txn.readSet.length) invariantBroken(`occ: ${txn.txid} got ${event.versions.length} versions for ${txn.readSet.length} keys`);
    for (let index = 0; index < txn.readSet.length; index++) {
      const [key, versionRead] = txn.readSet[index]!;
      const versionNow = event.versions[index]!;
      this.clock.observe(versionNow);
      if (!timestampsEqual(versionRead, versionNow)) {
        return this.abort(txn, 'stale-read', `${key} changed from version ${versionRead.join('.')} to ${versionNow.join('.')}`, key);
      }
    }
    return this.commit(txn);
  }

  private abortIfChecking(txid: TxnId, reason: AbortReason, detail: string): OccEffect[] {
    return this.abortIf(txid, 'checking-versions', reason, detail);
  }

  private abortIf(txid: TxnId, phase: Phase, reason: AbortReason, detail: string): OccEffect[] {
    const txn = this.coordinated.get(txid);
    if (!txn || txn.phase !== phase) return [];
    return this.abort(txn, reason, detail);
  }

  private onConfirmed(txid: TxnId): OccEffect[] {
    const txn = this.coordinated.get(txid);
    if (!txn || txn.phase !== 'confirming') return [];
    return this.finish(txn);
  }

  private commit(txn: Coordinated): OccEffect[] {
    if (txn.writes.length === 0) {
      if (this.faults.skipReadConfirmation) return this.finish(txn);
      // Only a member may report a commit: one removed meanwhile (paused, cut off) could have
      // read from its memory what newer views have since overwritten.
      txn.phase = 'confirming';
      return [{ type: 'confirm', txid: txn.txid, ts: txn.ts }];
    }
    txn.phase = 'applying';
    txn.acksAwaited = new Set(this.replicas);
    const apply: OccEffect = { type: 'apply', txid: txn.txid, ts: txn.ts, writes: txn.writes, replicas: [...this.replicas] };
    // Decided: the votes that waited for it are decided now (NO, while it is in flight);
    // waiting for its APPLYs too would only delay the restart of those transactions. The
    // reads parked behind it take its writes from memory.
    return [apply, ...this.releaseDeferred(txn.txid), ...this.reads.writerDecided(txn.txid)];
  }

  /** True while `txid` is one of this node's transactions and not yet decided. */
  private undecided(txid: TxnId): boolean {
    const txn = this.coordinated.get(txid);
    return txn !== undefined && txn.phase !== 'applying';
  }

  private onReplicaAcked(event: Extract<OccEvent, { type: 'replica-acked' }>): OccEffect[] {
    const txn = this.coordinated.get(event.txid);
    if (!txn || txn.phase !== 'applying') return [];
    txn.acksAwaited.delete(event.replica);
    return txn.acksAwaited.size === 0 ? this.finish(txn) : [];
  }

  /** A transaction leaves the in-flight table only when every replica has applied it. */
  private finish(txn: Coordinated): OccEffect[] {
    if (txn.acksAwaited.size !== 0) invariantBroken(`occ: ${txn.txid} finished with replicas still to acknowledge`);
    this.coordinated.delete(txn.txid);
    // Leaving the in-flight table and entering the finished writes is one step: no vote can
    // fall between the two and miss the write.
    this.inFlight.remove(txn.txid);
    for (const write of txn.writes) this.finished.record(write.key, txn.ts);
    this.commits += 1;
    return [{ type: 'committed', txid: txn.txid, ts: txn.ts }, ...this.releaseDeferred(txn.txid)];
  }

  private abort(txn: Coordinated, reason: AbortReason, detail: string, key?: Key): OccEffect[] {
    if (txn.phase === 'applying') invariantBroken(`occ: ${txn.txid} aborted after its commit decision`);
    this.coordinated.delete(txn.txid);
    this.inFlight.remove(txn.txid);
    this.aborts += 1;
    const aborted: Extract<OccEffect, { type: 'aborted' }> = { type: 'aborted', txid: txn.txid, ts: txn.ts, reason, detail };
    if (key !== undefined) aborted.key = key;
    return [aborted, ...this.releaseDeferred(txn.txid), ...this.reads.writerDecided(txn.txid)];
  }

  private onViewStop(databases: ReplicaId[] | undefined): OccEffect[] {
    this.stoppedNow = true;
    const effects = [...this.abortUndecided('view-change', 'a view is being installed'), ...this.answerDeferredNo()];
    return databases ? [...effects, ...this.retarget(databases)] : effects;
  }

  /**
   * The databases of the view being installed: every decided write must be on each of them
   * before the view is installed, and on no other. A database the view leaves out will not
   * acknowledge (it may be dead): its acknowledgement is no longer awaited. One it adds (joining)
   * gets the write now.
   */
  private retarget(databases: ReplicaId[]): OccEffect[] {
    const added = databases.filter((database) => !this.replicas.includes(database));
    this.replicas = [...databases];
    if (this.replicas.length === 0) invariantBroken('a view has at least one database');
    const effects: OccEffect[] = [];
    for (const txn of [...this.coordinated.values()]) {
      if (txn.phase !== 'applying') continue;
      for (const database of [...txn.acksAwaited]) if (!databases.includes(database)) txn.acksAwaited.delete(database);
      if (added.length > 0) {
        for (const database of added) txn.acksAwaited.add(database);
        effects.push({ type: 'apply', txid: txn.txid, ts: txn.ts, writes: txn.writes, replicas: [...added] });
      }
      if (txn.acksAwaited.size === 0) effects.push(...this.finish(txn));
    }
    return effects;
  }

  private onViewInstall(event: Extract<OccEvent, { type: 'view-install' }>): OccEffect[] {
    if (event.epoch < this.epochNow || (event.epoch === this.epochNow && !this.stoppedNow)) return [];
    if (this.coordinated.size > 0) invariantBroken(`occ: view ${event.epoch} installed at MIDDLEWARE${this.id} with ${this.coordinated.size} transactions not finished`);
    this.clock.observe(event.clock);
    this.members.clear();
    for (const member of event.members) if (member !== this.id) this.members.add(member);
    // The first view after a start: every write of an earlier life is at or below the INSTALL
    // clock (which is above every database's largest version). Later: a removed member's
    // finished writes are all at or below this clock too (they are on every database).
    if (!this.finished.hasJoined) this.finished.joined(this.clock.value);
    else if (event.replaced) this.finished.memberLeft(this.clock.value);
    if (event.databases) {
      if (event.databases.length === 0) invariantBroken('a view has at least one database');
      this.replicas = [...event.databases];
    }
    this.epochNow = event.epoch;
    this.stoppedNow = false;
    return [];
  }

  private onRemoved(): OccEffect[] {
    this.stoppedNow = true;
    this.members.clear();
    const effects = this.abortUndecided('removed', `MIDDLEWARE${this.id} was removed from the cluster`);
    for (const txn of [...this.coordinated.values()]) {
      this.coordinated.delete(txn.txid);
      this.inFlight.remove(txn.txid);
      effects.push({ type: 'outcome-unknown', txid: txn.txid, ts: txn.ts }, ...this.releaseDeferred(txn.txid), ...this.reads.writerDecided(txn.txid));
    }
    return [...effects, ...this.answerDeferredNo()];
  }

  /**
   * Aborts every undecided transaction, each once and for `reason`. They leave the table before
   * any is aborted: an abort releases the votes that waited for it, and this node's own NO on a
   * later transaction of its own would otherwise abort that one first, as `vote-no`, and the
   * loop would then abort it a second time.
   */
  private abortUndecided(reason: AbortReason, detail: string): OccEffect[] {
    const undecided = [...this.coordinated.values()].filter((txn) => txn.phase !== 'applying');
    for (const txn of undecided) this.coordinated.delete(txn.txid);
    return undecided.flatMap((txn) => this.abort(txn, reason, detail));
  }

  /** Every vote still waiting is answered NO: this node validates nothing until the next view. */
  private answerDeferredNo(): OccEffect[] {
    const effects: OccEffect[] = [];
    for (const [txid, waiting] of [...this.deferredVotes]) {
      this.deferredVotes.delete(txid);
      this.deferredCount -= waiting.length;
      for (const request of waiting) effects.push(...this.route([{ type: 'vote', txid: request.txid, to: request.from, vote: 'no', clock: this.clock.value }]));
    }
    return effects;
  }

}
