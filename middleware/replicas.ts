// The database replicas as one middleware sees them: a connection to each, reads from a
// preferred live replica (falling back to the others), APPLY to every replica.
import { Connection, type RequestLink } from '../protocol/connection.js';
import { databaseEndpoint, type DatabaseEntry, type Vantage } from '../cluster/cluster-file.js';
import { OccdbError, isUnavailableError } from '../errors/catalogue.js';
import { type CommitRecord, type Entry } from '../protocol/schemas.js';
import type { Member, View } from '../view/types.js';
import type { AcceptedValue } from '../view/acceptor.js';
import { majorityOf } from '../view/types.js';
import { TIMESTAMP_ZERO, maxTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import type { Key, ReplicaId, Write } from '../transaction/types.js';
import type { Logger } from '../runtime/log.js';
import { invariantBroken } from '../errors/invariant.js';

export const REPLICA_REQUEST_TIMEOUT_MS = 10_000;
const APPLY_RETRY_DELAY_MS_MAX = 2_000;

interface ApplyQueue {
  /** Batches on their way to the replica and not answered yet. */
  sending: number;
  /** A send is due at the end of this turn of the event loop. */
  sendScheduled: boolean;
  pending: PendingApply[];
  /** APPLYs in the batches on their way, not answered yet. */
  inFlight: number;
}

interface PendingApply {
  /** The life that decided the transaction: its APPLY is sent in that life's name or not at all. */
  from: Member;
  ts: Timestamp;
  writes: Write[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Who this middleware is now, and what its recent-commits records may be trimmed to. */
export interface ReplicaSetIdentity {
  /** This middleware's life now: reads, APPLYs and recovery are fenced by it. */
  self(): Member;
  /** Every transaction of this life with a timestamp counter at or below this is on every database. */
  watermark(): number;
}

/** At most this many APPLYs in one message. */
const APPLY_BATCH_MAX = 256;
/**
 * Batches on their way to one replica at once. With one, a middleware whose batch is in the
 * database's running group cannot send into the next group, so that group holds only the
 * other middlewares' APPLYs, and the groups (one sync each) stay small. With more than one,
 * every middleware's waiting APPLYs reach each group: fewer syncs per commit (0.52 -> 0.42
 * on bank with 16 clients) and more commits per second. The database still groups whatever
 * arrives while a group is written. Batches may then reach it out of order (a retried one
 * after a later one); the Thomas write rule makes the result the same.
 */
const APPLY_BATCHES_IN_FLIGHT_MAX = 3;

/** An APPLY to a database the installed view no longer has: dropped, as the view's installation no longer waits for it. */
export class LeftViewError extends OccdbError {
  constructor(replica: ReplicaId) {
    super('NODE_UNAVAILABLE', `DATABASE${replica} is not a database of the view any more`);
  }
}

export class ReplicaSet {
  private readonly connections = new Map<ReplicaId, RequestLink>();
  /** The view's databases in sync (reads go only to them) and all of its databases (APPLYs); null before the first view: every database. */
  private readable: ReadonlySet<ReplicaId> | null = null;
  private targets: ReadonlySet<ReplicaId> | null = null;
  private readonly applyQueues = new Map<ReplicaId, ApplyQueue>();
  private readonly order: ReplicaId[];
  private closed = false;
  /** Read-only commits waiting for the next confirmation round, and whether one is running. */
  private confirmWaiters: Array<{ ts: Timestamp; resolve: () => void; reject: (error: unknown) => void }> = [];
  private confirming = false;

  /**
   * `from`: where this middleware runs, so databases on its machine are reached over their Unix
   * sockets. `connect` makes the link to a database (a Connection over the network; the
   * in-process test cluster passes its own).
   */
  constructor(
    databases: DatabaseEntry[],
    preferredIndex: number,
    private readonly logger: Logger,
    private readonly identity: ReplicaSetIdentity,
    from: Vantage = 'this-machine',
    connect: (database: DatabaseEntry) => RequestLink = (database) => new Connection(databaseEndpoint(database, from), `DATABASE${database.id}`),
  ) {
    for (const database of databases) {
      this.connections.set(database.id, connect(database));
      this.applyQueues.set(database.id, { sending: 0, sendScheduled: false, pending: [], inFlight: 0 });
    }
    // Each middleware starts its reads at a different replica, spreading the read load.
    const ids = databases.map((database) => database.id);
    const start = preferredIndex % ids.length;
    this.order = [...ids.slice(start), ...ids.slice(0, start)];
  }

  get ids(): ReplicaId[] {
    return [...this.connections.keys()];
  }

  /** APPLYs to `replica` queued or on their way and not acknowledged yet: how far it lags behind this middleware. */
  appliesPending(replica: ReplicaId): number {
    const queue = this.applyQueues.get(replica);
    return queue ? queue.pending.length + queue.inFlight : 0;
  }

  /**
   * The view's databases from now on: reads and version checks go to its replicas only (a
   * joining database is still behind), APPLYs to its replicas and joining databases; APPLYs
   * queued for a database it leaves out are dropped (LeftViewError).
   */
  useView(view: { replicas: readonly ReplicaId[]; joining: readonly ReplicaId[] }): void {
    this.readable = new Set(view.replicas);
    this.targets = new Set([...view.replicas, ...view.joining]);
  }

  /**
   * Reads keys (value and version) from the first replica that answers. `atLeast`: versions
   * some of them are about to reach, which the replica waits up to `waitMs` for.
   */
  async read(keys: Key[], atLeast: Array<[Key, Timestamp]> = [], waitMs = 0): Promise<Entry[]> {
    const from = this.identity.self();
    const message = atLeast.length > 0 && waitMs > 0 ? { type: 'db.read' as const, keys, atLeast, waitMs, from } : { type: 'db.read' as const, keys, from };
    return this.fromAnyReplica('db.read', async (connection) => {
      const result = await connection.request(message, REPLICA_REQUEST_TIMEOUT_MS);
      if (result.entries.length !== keys.length) throw new OccdbError('BAD_MESSAGE', `${connection.label} returned ${result.entries.length} entries for ${keys.length} keys`);
      return result.entries;
    });
  }

  /** Reads the current versions of keys, for the version check after the last vote. */
  async versions(keys: Key[]): Promise<Timestamp[]> {
    return this.fromAnyReplica('db.versions', async (connection) => {
      const result = await connection.request({ type: 'db.versions', keys, from: this.identity.self() }, REPLICA_REQUEST_TIMEOUT_MS);
      if (result.versions.length !== keys.length) throw new OccdbError('BAD_MESSAGE', `${connection.label} returned ${result.versions.length} versions for ${keys.length} keys`);
      return result.versions;
    });
  }

  /**
   * Applies a committed transaction's writes on one replica, retrying until it acknowledges:
   * the commit is decided, so giving up would leave replicas apart. APPLY is idempotent,
   * so a retry after a lost acknowledgement is harmless.
   *
   * APPLYs to one replica travel in batches: while batches are on their way, the APPLYs that
   * come up queue and leave together when one is answered. The database would have queued
   * them behind a disk sync anyway; sent together they cost one message and one answer
   * instead of one each. So do the APPLYs decided in one turn of the event loop (one chunk
   * of votes can end several validations): they leave at the end of the turn, as one batch.
   */
  apply(replica: ReplicaId, ts: Timestamp, writes: Write[]): Promise<void> {
    const queue = this.applyQueues.get(replica);
    if (!queue) invariantBroken(`no replica ${replica}`);
    const from = this.identity.self();
    return new Promise((resolve, reject) => {
      queue.pending.push({ from, ts, writes: writes.map((write) => (write.value === undefined ? { key: write.key } : { key: write.key, value: write.value })), resolve, reject });
      if (queue.sendScheduled) return;
      queue.sendScheduled = true;
      setImmediate(() => {
        queue.sendScheduled = false;
        if (queue.sending < APPLY_BATCHES_IN_FLIGHT_MAX && queue.pending.length > 0) void this.sendApplies(replica, queue);
      });
    });
  }

  private async sendApplies(replica: ReplicaId, queue: ApplyQueue): Promise<void> {
    queue.sending += 1;
    const connection = this.connections.get(replica)!;
    try {
      while (queue.pending.length > 0) {
        const batch = this.nextBatch(queue);
        if (batch.length === 0) continue;
        const message = { type: 'db.apply-batch' as const, from: batch[0]!.from, watermark: this.identity.watermark(), applies: batch.map(({ ts, writes }) => ({ ts, writes })) };
        queue.inFlight += batch.length;
        for (let attempt = 0; ; attempt++) {
          if (this.targets && !this.targets.has(replica)) {
            for (const apply of batch) apply.reject(new LeftViewError(replica));
            break;
          }
          try {
            await connection.request(message, REPLICA_REQUEST_TIMEOUT_MS);
            for (const apply of batch) apply.resolve();
            break;
          } catch (error) {
            if (this.closed || !isUnavailableError(error)) {
              for (const apply of batch) apply.reject(error);
              break;
            }
            const delayMs = Math.min(APPLY_RETRY_DELAY_MS_MAX, 10 * 2 ** Math.min(attempt, 8));
            if (attempt % 10 === 0) this.logger.warn(`APPLY of ${batch.length} to DATABASE${replica} failed (${(error as Error).message}); retrying`);
            await new Promise((resolve) => setTimeout(resolve, delayMs));
          }
        }
        queue.inFlight -= batch.length;
      }
    } finally {
      queue.sending -= 1;
    }
  }

  /**
   * The next APPLYs to send, all of this life. An earlier life's are refused here: their
   * transactions were completed or dropped by the view that ended that life, and sent in
   * this life's name they would pass the fence and could land half of a dropped transaction.
   */
  private nextBatch(queue: ApplyQueue): PendingApply[] {
    const self = this.identity.self();
    const batch: PendingApply[] = [];
    const kept: PendingApply[] = [];
    for (const apply of queue.pending) {
      if (apply.from.incarnation !== self.incarnation) apply.reject(new OccdbError('FENCED', `APPLY ${apply.ts.join('.')} belongs to an earlier life of this middleware`));
      else if (batch.length < APPLY_BATCH_MAX) batch.push(apply);
      else kept.push(apply);
    }
    queue.pending = kept;
    return batch;
  }

  /**
   * Resolves once a majority of the databases has said this middleware is still a member of the
   * newest view it accepted, in a round that started after this call: a read-only transaction
   * whose last vote came before the call may then be reported (no view without this middleware
   * was chosen before the round, since any chosen view has a majority of acceptors). Rounds are
   * shared: every commit waiting when one starts is answered by it.
   */
  confirm(ts: Timestamp): Promise<void> {
    return new Promise((resolve, reject) => {
      this.confirmWaiters.push({ ts, resolve, reject });
      if (!this.confirming) void this.confirmRound();
    });
  }

  private async confirmRound(): Promise<void> {
    this.confirming = true;
    while (this.confirmWaiters.length > 0) {
      const waiters = this.confirmWaiters;
      this.confirmWaiters = [];
      // The round carries the largest of its commits' timestamps: the databases count it in their largest version.
      const ts = waiters.reduce((largest, waiter) => maxTimestamp(largest, waiter.ts), TIMESTAMP_ZERO);
      try {
        await this.fromMajority('db.confirm', (connection) => connection.request({ type: 'db.confirm', from: this.identity.self(), ts }, REPLICA_REQUEST_TIMEOUT_MS));
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.confirming = false;
  }

  /**
   * Runs `ask` at every database and resolves with the answers once a majority answered. A
   * FENCED answer rejects at once (this life is over); no majority rejects with NO_QUORUM.
   */
  async fromMajority<T>(what: string, ask: (connection: RequestLink, id: ReplicaId) => Promise<T>, ids: ReplicaId[] = this.ids): Promise<Map<ReplicaId, T>> {
    const needed = majorityOf(this.connections.size);
    const answers = new Map<ReplicaId, T>();
    return new Promise((resolve, reject) => {
      let failed = 0;
      let settled = false;
      const errors: string[] = [];
      for (const id of ids) {
        ask(this.connections.get(id)!, id).then(
          (answer) => {
            answers.set(id, answer);
            if (!settled && answers.size >= needed) {
              settled = true;
              resolve(answers);
            }
          },
          (error: unknown) => {
            failed += 1;
            errors.push(`DATABASE${id}: ${(error as Error).message}`);
            if (settled) return;
            if (error instanceof OccdbError && error.code === 'FENCED') {
              settled = true;
              reject(error);
            } else if (ids.length - failed < needed) {
              settled = true;
              reject(new OccdbError('NO_QUORUM', `${what}: fewer than ${needed} of ${this.connections.size} databases answered (${errors.join('; ')})`));
            }
          },
        );
      }
    });
  }

  /** One database's link, for the view protocol's requests (prepare, accept, recovery). */
  link(id: ReplicaId): RequestLink {
    const connection = this.connections.get(id);
    if (!connection) invariantBroken(`no database ${id}`);
    return connection;
  }

  /** The recent-commits records at `id` of every coordinator not among `members`, and its largest version. */
  async commits(id: ReplicaId, members: Member[]): Promise<{ records: CommitRecord[]; maxVersion: Timestamp }> {
    return this.link(id).request({ type: 'db.commits', from: this.identity.self(), members }, REPLICA_REQUEST_TIMEOUT_MS);
  }

  /** The stored entries of `keys` at database `id`, fenced by this life. */
  async entriesAt(id: ReplicaId, keys: Key[]): Promise<Entry[]> {
    const result = await this.link(id).request({ type: 'db.read', keys, from: this.identity.self() }, REPLICA_REQUEST_TIMEOUT_MS);
    return result.entries;
  }

  async recover(id: ReplicaId, entries: ReadonlyArray<{ key: Key; version: Timestamp; value?: unknown }>, drop: readonly Timestamp[]): Promise<void> {
    await this.link(id).request({ type: 'db.recover', from: this.identity.self(), entries, drop }, REPLICA_REQUEST_TIMEOUT_MS);
  }

  async view(id: ReplicaId): Promise<{ chosen: View; accepted: AcceptedValue | null }> {
    return this.link(id).request({ type: 'db.view' }, REPLICA_REQUEST_TIMEOUT_MS);
  }

  close(): void {
    this.closed = true;
    for (const connection of this.connections.values()) connection.close();
  }

  private async fromAnyReplica<T>(what: string, attempt: (connection: RequestLink) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (const id of this.order) {
      if (this.readable && !this.readable.has(id)) continue;
      try {
        return await attempt(this.connections.get(id)!);
      } catch (error) {
        lastError = error;
        if (!isUnavailableError(error)) throw error;
      }
    }
    throw new OccdbError('NODE_UNAVAILABLE', `no database replica answered ${what}: ${(lastError as Error)?.message ?? 'none configured'}`);
  }
}
