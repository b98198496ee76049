// The DATABASE process: a server (TCP, and a Unix socket for its own machine) over one LevelDB
// directory. APPLYs are written in arrival order, in synced groups (group commit); reads do
// not wait behind them. It knows nothing of replication or of the other databases, but for the
// views it votes on: one that lists it as joining clears its store and opens it to a state
// transfer (database/sync-state.ts).
import fs from 'node:fs';
import path from 'node:path';
import { OccdbError, PORT_IN_USE } from '../errors/catalogue.js';
import { createLogger, flushLogger, type LogFormat, type LogLevel, type Logger } from '../runtime/log.js';
import { createRegistry } from '../metrics/registry.js';
import { registerDatabaseMetrics } from '../metrics/process-metrics.js';
import { serveMetrics, type MetricsServer } from '../metrics/server.js';
import { Connection } from '../protocol/connection.js';
import { findDatabase, listenAddress, readClusterFile } from '../cluster/cluster-file.js';
import { nodeAuthority } from '../cluster/authority.js';
import { readSecret } from '../cluster/secret.js';
import { readTlsFiles, logTransportSecurity } from '../cluster/tls.js';
import { DatabaseRequestSchema, type DatabaseRequest, type Entry, type ResultOf, type Status } from '../protocol/schemas.js';
import { applySchedulingPolicy } from '../runtime/scheduling.js';
import { NdjsonServer, connectionsOf, requestsReceivedByType, unixSocketsNote } from '../protocol/server.js';
import { formatTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import type { LoggedApply } from './commit-log.js';
import { fenceRefusal } from './fencing.js';
import { sameSyncState, syncOnAccept, syncOnChosen, transferDoneRefusal, transferRefusal } from './sync-state.js';
import { atLeastReached } from './read-rules.js';
import { RequestQueue, type ApplyOutcome } from './request-queue.js';
import { Storage, isLockedError } from './storage.js';
import { Acceptor, type AcceptorEffect, type AcceptorEvent, type AcceptorState } from '../view/acceptor.js';
import { makeIncarnation, type Member, type View } from '../view/types.js';

export interface DatabaseOptions {
  id: number;
  clusterFile: string;
  logLevel: LogLevel;
  logFormat?: LogFormat;
  /** Also log to stderr (the process runs in the foreground). */
  console: boolean;
  faults?: DatabaseFaults;
}

/** Rules a database can be started to break on purpose, so that a test shows it catches their absence. */
export interface DatabaseFaults {
  /** Nothing is fenced: APPLYs, reads and confirmations from any middleware life are served. */
  skipFencing?: boolean;
}

export interface RunningDatabase {
  /** The port the server listens on. */
  readonly port: number;
  /** Stops taking requests, finishes the one running, closes LevelDB and flushes the log. */
  close(): Promise<void>;
}

const KNOWN_TYPES: readonly string[] = DatabaseRequestSchema.options.map((option) => option.shape.type.value);

export async function runDatabase(options: DatabaseOptions): Promise<RunningDatabase> {
  const cluster = readClusterFile(options.clusterFile);
  const secret = readSecret(options.clusterFile);
  const tlsFiles = cluster.tls === undefined ? undefined : readTlsFiles(options.clusterFile);
  const entry = findDatabase(cluster, options.id);
  const name = `DATABASE${options.id}`;
  const dataDir = path.resolve(entry.dir, 'data');
  try {
    fs.mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw new OccdbError('STORAGE_UNAVAILABLE', `${name} cannot create its data directory ${dataDir}: ${(error as Error).message}`);
  }
  const logger = createLogger({ name, level: options.logLevel, file: path.resolve(entry.dir, 'database.log'), console: options.console, format: options.logFormat ?? 'text' });
  if (options.faults?.skipFencing) logger.warn(`FAULTS INJECTED ON PURPOSE: skip-fencing: ${name} takes APPLYs and reads from removed middlewares`);
  // Before LevelDB starts its threads, so that they inherit the policy.
  logger.info(applySchedulingPolicy(cluster.scheduling));

  let storage: Storage;
  try {
    storage = await Storage.open(dataDir);
  } catch (error) {
    await flushLogger(logger);
    if (isLockedError(error)) {
      throw new OccdbError('USAGE', `${name}'s data directory ${dataDir} is in use by another process (is ${name} already running?)`);
    }
    throw new OccdbError('STORAGE_UNAVAILABLE', `${name} cannot open its data directory ${dataDir}: ${(error as Error).message}`);
  }

  let acceptor: Acceptor;
  try {
    acceptor = await openAcceptor(storage, initialView(cluster));
  } catch (error) {
    await storage.close();
    await flushLogger(logger);
    throw new OccdbError('STORAGE_UNAVAILABLE', `${name} cannot read its acceptor state in ${dataDir}: ${(error as Error).message}`);
  }
  logger.info(`${name} knows chosen views up to epoch ${acceptor.openEpoch - 1}`);
  logTransportSecurity(cluster, logger);

  const startedAtMs = Date.now();
  let server: NdjsonServer | null = null;
  let metricsServer: MetricsServer | null = null;
  const host = listenAddress(entry.host);
  const service = new DatabaseService(name, storage, logger, () => ({
    role: 'database', id: options.id, pid: process.pid, ports: { port: server?.port ?? entry.port, ...(metricsServer ? { metrics: metricsServer.port } : {}) }, uptimeMs: Date.now() - startedAtMs, connections: connectionsOf([server]),
  }), acceptor, { id: options.id, ...(options.faults ? { faults: options.faults } : {}) });
  const handle = (request: DatabaseRequest): Promise<unknown> => service.handle(request);

  try {
    server = await NdjsonServer.listen({ host, port: entry.port, schema: DatabaseRequestSchema, knownTypes: KNOWN_TYPES, handle, logger, label: name, socketPath: entry.socket, auth: nodeAuthority(secret), ...(tlsFiles ? { tls: tlsFiles } : {}) });
  } catch (error) {
    await storage.close();
    await flushLogger(logger);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new OccdbError('USAGE', `${name}: port ${entry.port} on ${host} ${PORT_IN_USE}`);
    throw new OccdbError('USAGE', `${name} cannot listen on ${host}:${entry.port}: ${(error as Error).message}`);
  }
  if (entry.metricsPort !== undefined) {
    try {
      metricsServer = await serveDatabaseMetrics(name, service, host, entry.metricsPort);
    } catch (error) {
      await server.close();
      await storage.close();
      await flushLogger(logger);
      throw error;
    }
  }
  logger.info(`${name} listening on ${host}:${server.port}${metricsServer ? `, metrics on :${metricsServer.port}` : ''}${unixSocketsNote([server])}`);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info(`${name} stopping`);
      // Stop first, then wait: what is already queued is refused, and the request that is
      // running finishes (and is answered) before the sockets and LevelDB close.
      await service.stop();
      // One turn of the event loop lets the last reply reach its socket before it closes.
      await new Promise((resolve) => setImmediate(resolve));
      await metricsServer?.close();
      await server!.close();
      await storage.close();
      logger.info(`${name} stopped`);
      await flushLogger(logger);
    })();
    return closing;
  };
  return { port: server.port, close };
}

function serveDatabaseMetrics(name: string, service: DatabaseService, host: string, port: number): Promise<MetricsServer> {
  const registry = createRegistry(name);
  registerDatabaseMetrics(registry, {
    messages: { sent: Connection.requestsSentByType, received: requestsReceivedByType },
    applies: () => service.counters.applies,
    syncs: () => service.counters.syncs,
    lingers: () => service.counters.lingers,
    pending: () => service.counters.pending,
    keys: () => service.keys(),
    view: () => {
      const { chosen } = service.counters;
      return { epoch: chosen.epoch, members: chosen.members.length, replicas: chosen.replicas.length, joining: chosen.joining.length };
    },
  });
  return serveMetrics({ host, port, registry, label: name });
}

/** What a database needs of its store: LevelDB in production (storage.ts), memory in tests. */
export type DatabaseStore = Pick<Storage,
  'read' | 'versions' | 'applyGroup' | 'recover' | 'commits' | 'maxVersion' | 'observeVersion' | 'scan' | 'syncs' | 'readAcceptor' | 'writeAcceptor' | 'clear' | 'transfer' | 'syncState' | 'writeSyncState'>
  & Partial<Pick<Storage, 'countKeys'>>;

/**
 * Status and the metrics count the live keys again only once the last count is this many times
 * as old as it took (a count reads every entry: at most about 1% of the time goes to counting),
 * and never less often than every KEY_COUNT_AGE_MS_MAX. A small store is counted afresh at each
 * asking; a large one shows a count up to a few seconds old.
 */
const KEY_COUNT_AGE_PER_COUNT_MS = 100;
const KEY_COUNT_AGE_MS_MAX = 5_000;
const KEY_COUNT_MAX = 10_000_000;

export interface DatabaseServiceOptions {
  /**
   * This database's id, as views list it: whether a view lists it as joining decides whether it
   * clears its store. Default: the id its status reports (`processStatus`), the same database.
   */
  id?: number;
  faults?: DatabaseFaults;
}

/**
 * The incarnation epoch 0 gives every middleware: boot 0, before any life's. The view of epoch
 * 0 is written down before any middleware has run, so it cannot name their lives; a durable
 * boot counter counts from 1, so every real life compares above it.
 */
export const INCARNATION_BEFORE_BOOT = makeIncarnation(0, '0');

/**
 * Epoch 0, the view every database starts from: every middleware of the cluster file as a
 * member (as INCARNATION_BEFORE_BOOT), every database in sync, none joining. Ids in ascending
 * order, so every database builds the same view whatever order the file lists them in.
 */
export function initialView(cluster: { middlewares: ReadonlyArray<{ id: number }>; databases: ReadonlyArray<{ id: number }> }): View {
  const ascending = (ids: number[]): number[] => ids.sort((a, b) => a - b);
  return {
    epoch: 0,
    members: ascending(cluster.middlewares.map((middleware) => middleware.id)).map((id) => ({ id, incarnation: INCARNATION_BEFORE_BOOT })),
    replicas: ascending(cluster.databases.map((database) => database.id)),
    joining: [],
  };
}

/** The acceptor as its store last left it, or, for a store that has never voted, one at `initial`. */
export async function openAcceptor(store: Pick<DatabaseStore, 'readAcceptor'>, initial: View): Promise<Acceptor> {
  const stored = await store.readAcceptor();
  return stored === null ? Acceptor.start(initial) : Acceptor.restore(stored);
}

/**
 * The requests of a DATABASE, whatever carries them: the TCP/Unix server above, or an
 * in-process test that passes messages by hand. Reads run at once; APPLYs go through the
 * request queue (group commit); at-least reads wait for the versions they need. A request
 * from a middleware life the fence view leaves out (database/fencing.ts) is refused with
 * FENCED: an APPLY when it arrives and again when its group is written, a read when it
 * arrives and again just before it is answered.
 */
export class DatabaseService {
  private readonly queue: RequestQueue;
  private appliesDone = 0;
  /** The acceptor state last written to the store: what a failed write falls back to, and what fences. */
  private durableAcceptor: AcceptorState;
  private requests = 0;
  private keyCount: { count: number; atMs: number; tookMs: number } | null = null;
  private keyCounting: Promise<number> | null = null;
  private readonly id: number;
  private readonly faults: DatabaseFaults;

  constructor(
    private readonly name: string,
    private readonly storage: DatabaseStore,
    private readonly logger: Logger,
    /** The process's part of `status`: role, id, pid, ports, uptime, connections. */
    private readonly processStatus: () => Omit<Status, 'requests' | 'syncs' | 'applies' | 'lingers' | 'pending' | 'keys' | 'chosenEpoch' | 'promised' | 'view' | 'sync'>,
    /** The Paxos acceptor of this database, as `openAcceptor` restored it. */
    private acceptor: Acceptor,
    options: DatabaseServiceOptions = {},
  ) {
    this.id = options.id ?? processStatus().id;
    this.faults = options.faults ?? {};
    this.durableAcceptor = acceptor.snapshot();
    this.queue = new RequestQueue(name, async (applies) => {
      const outcomes = await this.writeGroup(applies);
      if (logger.isDebugEnabled()) logger.debug(`apply group of ${applies.length}: ${applies.map((apply, index) => `ts=${formatTimestamp(apply.ts)} writes=${apply.writes.length} ${describeOutcome(outcomes[index]!)}`).join('; ')}`);
      return outcomes;
    });
  }

  handle(request: DatabaseRequest): Promise<unknown> {
    this.requests += 1;
    const { queue, storage } = this;
    switch (request.type) {
      case 'db.apply':
        return this.whenAdmitted(request.from, () => queue.apply({ ts: request.ts, writes: request.writes, from: request.from, watermark: undefined }));
      case 'db.apply-batch': {
        const { from, watermark } = request;
        // Admitted together, so they land in the same group: one batch, one sync, and the watermark's trim in it.
        return this.whenAdmitted(from, () => Promise.all(request.applies.map((apply) => queue.apply({ ts: apply.ts, writes: apply.writes, from, watermark }))))
          .then((results) => ({ written: results.map((result) => result.written) }));
      }
      case 'ping':
        return queue.read(async () => ({}));
      case 'status':
        return queue.read(async () => ({
          ...this.processStatus(), requests: this.requests, syncs: storage.syncs, applies: this.appliesDone, lingers: queue.lingers, pending: queue.pending,
          ...(storage.countKeys ? { keys: await this.keys() } : {}),
          chosenEpoch: this.durableAcceptor.chosen.epoch, promised: this.durableAcceptor.promised, view: this.durableAcceptor.chosen, sync: storage.syncState,
        }));
      case 'db.read':
        return this.fencedRead(request.from, () => {
          if (request.atLeast && request.atLeast.length > 0 && (request.waitMs ?? 0) > 0) return this.readAtLeast(request.keys, request.atLeast, request.waitMs!);
          return queue.readCommitted(request.keys, () => storage.read(request.keys)).then((entries) => ({ entries }));
        });
      case 'db.versions':
        return this.fencedRead(request.from, () => queue.read(async () => ({ versions: await storage.versions(request.keys) }), request.keys));
      case 'db.scan':
        return queue.read(() => storage.scan(request.after, request.limit));
      case 'db.confirm':
        // Not behind the APPLY groups: it answers for the acceptor state durable now. The read-only
        // commit's timestamp raises the largest version (in memory; the next group writes it).
        return queue.read(async () => {
          this.checkFence(request.from);
          storage.observeVersion(request.ts);
          return {};
        });
      case 'db.view':
        return queue.read(async (): Promise<ResultOf<'db.view'>> => ({ chosen: this.durableAcceptor.chosen, accepted: this.durableAcceptor.accepted, sync: storage.syncState }));
      case 'db.commits':
        // A step: it sees every APPLY admitted before it written, and none admitted after.
        return queue.step(async (): Promise<ResultOf<'db.commits'>> => {
          this.checkFence(request.from);
          const maxVersion = storage.maxVersion;
          return { records: storage.commits(request.members), maxVersion: [maxVersion[0], maxVersion[1]] };
        });
      case 'db.recover':
        return queue.step(async () => {
          this.checkFence(request.from);
          return storage.recover(request.entries, request.drop);
        });
      case 'db.transfer':
        // A step, like the votes: a clear runs before it or after it, never in the middle.
        return queue.step(async (): Promise<ResultOf<'db.transfer'>> => {
          this.checkFence(request.from);
          const refusal = transferRefusal(this.name, storage.syncState);
          if (refusal) throw refusal;
          return storage.transfer(request.entries, request.records);
        });
      case 'db.transfer-done':
        return queue.step(async (): Promise<ResultOf<'db.transfer-done'>> => {
          this.checkFence(request.from);
          const sync = storage.syncState;
          const refusal = transferDoneRefusal(this.name, sync, request.epoch);
          if (refusal) throw refusal;
          if (!sync!.complete) {
            await storage.writeSyncState({ joiningSince: request.epoch, complete: true });
            this.logger.info(`${this.name}: state transfer complete (joining since epoch ${request.epoch}), recorded at the request of MIDDLEWARE${request.from.id}`);
          }
          return { complete: true };
        });
      case 'db.prepare':
        return queue.step(() => this.vote({ type: 'prepare', epoch: request.epoch, ballot: request.ballot }));
      case 'db.accept':
        if (request.view.epoch !== request.epoch) {
          return Promise.reject(new OccdbError('BAD_MESSAGE', `db.accept: the view is for epoch ${request.view.epoch}, not ${request.epoch} at view.epoch`));
        }
        return queue.step(() => this.vote({ type: 'accept', epoch: request.epoch, ballot: request.ballot, view: request.view }));
      case 'db.chosen':
        return queue.step(async () => {
          await this.vote({ type: 'chosen', view: request.view });
          return { epoch: this.durableAcceptor.chosen.epoch };
        });
    }
  }

  /** What the metrics read of this database. */
  get counters(): { applies: number; syncs: number; lingers: number; pending: number; chosen: AcceptorState['chosen'] } {
    return { applies: this.appliesDone, syncs: this.storage.syncs, lingers: this.queue.lingers, pending: this.queue.pending, chosen: this.durableAcceptor.chosen };
  }

  /** The live keys stored, counted again when the last count is old for what it cost (KEY_COUNT_AGE_PER_COUNT_MS). */
  async keys(): Promise<number> {
    const nowMs = performance.now();
    const last = this.keyCount;
    if (last && nowMs - last.atMs < Math.min(last.tookMs * KEY_COUNT_AGE_PER_COUNT_MS, KEY_COUNT_AGE_MS_MAX)) return last.count;
    this.keyCounting ??= (this.storage.countKeys?.(KEY_COUNT_MAX) ?? Promise.resolve(0)).then((count) => {
      const atMs = performance.now();
      this.keyCount = { count, atMs, tookMs: atMs - nowMs };
      return count;
    }).finally(() => {
      this.keyCounting = null;
    });
    return this.keyCounting;
  }

  /**
   * Writes a group of admitted APPLYs: those whose coordinator the fence view still admits. A
   * vote step may have run since they were admitted, and an APPLY of a coordinator it removed
   * must not land after the accept: recovery reads what landed only up to there.
   */
  private async writeGroup(applies: LoggedApply[]): Promise<ApplyOutcome[]> {
    const refusals = applies.map((apply) => this.fenceError(apply.from));
    const kept = applies.filter((_, index) => refusals[index] === null);
    const written = kept.length > 0 ? await this.storage.applyGroup(kept) : [];
    this.appliesDone += kept.length;
    let next = 0;
    return refusals.map((refusal) => (refusal ? { refused: refusal } : { written: written[next++]! }));
  }

  /** Why a request from `from` is refused now, or null when the fence view admits it (or fencing is off). */
  private fenceError(from: Member): OccdbError | null {
    return this.faults.skipFencing ? null : fenceRefusal(this.name, this.durableAcceptor, from);
  }

  private checkFence(from: Member): void {
    const refusal = this.fenceError(from);
    if (refusal) throw refusal;
  }

  /** Runs `admit` if the fence view admits `from` now, else refuses: nothing of the request is admitted. */
  private whenAdmitted<T>(from: Member, admit: () => Promise<T>): Promise<T> {
    const refusal = this.fenceError(from);
    return refusal ? Promise.reject(refusal) : admit();
  }

  /**
   * A read by a middleware (`from`) is fenced when it arrives and again just before it is
   * answered: an at-least read may wait while a view that removes its reader is accepted. An
   * operator's read (no `from`) is not fenced.
   */
  private async fencedRead<T>(from: Member | undefined, read: () => Promise<T>): Promise<T> {
    if (from === undefined) return read();
    this.checkFence(from);
    const answer = await read();
    this.checkFence(from);
    return answer;
  }

  /**
   * Runs one acceptor event in the request queue's line (queue.step): its effects in order,
   * so the state is written and synced before the answer that follows it leaves. Returns the
   * answer (a promise, an accepted or a refusal), or undefined for a chosen view. If the write
   * fails, the acceptor goes back to the state last written: nothing it answers may rest on
   * a state a restart would not find.
   */
  private async vote(event: AcceptorEvent): Promise<Exclude<AcceptorEffect, { type: 'persist' }> | undefined> {
    let answer: Exclude<AcceptorEffect, { type: 'persist' }> | undefined;
    for (const effect of this.acceptor.handle(event)) {
      if (effect.type !== 'persist') {
        answer = effect;
        continue;
      }
      try {
        await this.syncBeforePersisting(event);
        await this.storage.writeAcceptor(effect.state);
      } catch (error) {
        this.acceptor = Acceptor.restore(this.durableAcceptor);
        if (error instanceof OccdbError) throw error;
        throw new OccdbError('STORAGE_UNAVAILABLE', `cannot write the acceptor state: ${(error as Error).message}`);
      }
      this.durableAcceptor = effect.state;
    }
    return answer;
  }

  /**
   * What a granted vote does to the store before its acceptor state is written
   * (database/sync-state.ts). An accept that makes this database joining clears it and writes
   * the sync state first: a crash before the acceptor state is written means the accept never
   * happened, and the next one clears again (or, finding the sync state of its epoch, knows the
   * clear was finished). A chosen view that promoted or removed it resets the sync state.
   * A vote is a step in the APPLYs' line, so APPLYs admitted before it land on the store before
   * the clear, and those admitted after it on the cleared store.
   */
  private async syncBeforePersisting(event: AcceptorEvent): Promise<void> {
    const sync = this.storage.syncState;
    if (event.type === 'chosen') {
      const next = syncOnChosen(this.id, event.view, sync);
      if (!next.clear && sameSyncState(next.sync, sync)) return;
      try {
        if (next.clear) await this.storage.clear();
        await this.storage.writeSyncState(next.sync);
      } catch (error) {
        throw new OccdbError('STORAGE_UNAVAILABLE', `cannot ${next.clear ? 'clear the store to join' : 'write the sync state on learning view'} ${event.view.epoch}: ${(error as Error).message}`);
      }
      if (next.clear) this.logger.info(`${this.name}: store cleared: view ${event.view.epoch}, learned chosen, lists it as joining and it was not joining`);
      else this.logger.info(`${this.name}: no longer joining, as view ${event.view.epoch} lists it ${event.view.replicas.includes(this.id) ? 'as a replica' : 'nowhere'}`);
      return;
    }
    if (event.type !== 'accept') return;
    const plan = syncOnAccept(this.id, this.durableAcceptor.chosen, event.view, sync);
    if (!plan.clear) return;
    try {
      await this.storage.clear();
      await this.storage.writeSyncState(plan.sync);
    } catch (error) {
      throw new OccdbError('STORAGE_UNAVAILABLE', `cannot clear the store to join in view ${event.view.epoch}: ${(error as Error).message}`);
    }
    this.logger.info(`${this.name}: store cleared: view ${event.view.epoch}, accepted, lists it as joining and view ${this.durableAcceptor.chosen.epoch} did not`);
  }

  /** Refuses what is queued and resolves once the running group is written. */
  stop(): Promise<void> {
    return this.queue.stop();
  }

  /**
   * A read that needs at least some versions: answered once they are committed here (stored,
   * or brought by an admitted APPLY: `atLeastReached`), or when `waitMs` has passed, with what
   * there is then. Each APPLY admitted and each group written may bring them, so the read is
   * checked again after each.
   */
  private async readAtLeast(keys: string[], atLeast: Array<[string, Timestamp]>, waitMs: number): Promise<{ entries: Entry[] }> {
    const deadlineMs = performance.now() + waitMs;
    for (;;) {
      const entries = await this.queue.readCommitted(keys, () => this.storage.read(keys));
      const remainingMs = deadlineMs - performance.now();
      if (atLeastReached(keys, entries, atLeast) || remainingMs <= 0) return { entries };
      await this.queue.nextChange(remainingMs);
    }
  }
}

function describeOutcome(outcome: ApplyOutcome): string {
  return 'refused' in outcome ? 'refused (fenced)' : `written=${outcome.written}`;
}
