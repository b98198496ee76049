// The DATABASE process: a server (TCP, and a Unix socket for its own machine) over one LevelDB
// directory. APPLYs are written in arrival order, in synced groups (group commit); reads do
// not wait behind them. It knows nothing of replication or of the other databases.
import fs from 'node:fs';
import path from 'node:path';
import { OccdbError } from '../errors/catalogue.js';
import { createLogger, flushLogger, type LogLevel, type Logger } from '../runtime/log.js';
import { findDatabase, listenAddress, readClusterFile } from '../cluster/cluster-file.js';
import { DatabaseRequestSchema, type DatabaseRequest, type Entry, type Status } from '../protocol/schemas.js';
import { applySchedulingPolicy } from '../runtime/scheduling.js';
import { NdjsonServer, connectionsOf, unixSocketsNote } from '../protocol/server.js';
import { formatTimestamp, type Timestamp } from '../timestamp/timestamp.js';
import { atLeastReached } from './read-rules.js';
import { RequestQueue } from './request-queue.js';
import { Storage, isLockedError } from './storage.js';
import { Acceptor, type AcceptorEffect, type AcceptorEvent, type AcceptorState } from '../view/acceptor.js';
import { makeIncarnation, type View } from '../view/types.js';

export interface DatabaseOptions {
  id: number;
  clusterFile: string;
  logLevel: LogLevel;
  /** Also log to stderr (the process runs in the foreground). */
  console: boolean;
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
  const entry = findDatabase(cluster, options.id);
  const name = `DATABASE${options.id}`;
  const dataDir = path.resolve(entry.dir, 'data');
  try {
    fs.mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw new OccdbError('STORAGE_UNAVAILABLE', `${name} cannot create its data directory ${dataDir}: ${(error as Error).message}`);
  }
  const logger = createLogger({ name, level: options.logLevel, file: path.resolve(entry.dir, 'database.log'), console: options.console });
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

  const startedAtMs = Date.now();
  let server: NdjsonServer | null = null;
  const host = listenAddress(entry.host);
  const service = new DatabaseService(name, storage, logger, () => ({
    role: 'database', id: options.id, pid: process.pid, ports: { port: server?.port ?? entry.port }, uptimeMs: Date.now() - startedAtMs, connections: connectionsOf([server]),
  }), acceptor);
  const handle = (request: DatabaseRequest): Promise<unknown> => service.handle(request);

  try {
    server = await NdjsonServer.listen({ host, port: entry.port, schema: DatabaseRequestSchema, knownTypes: KNOWN_TYPES, handle, logger, label: name, socketPath: entry.socket });
  } catch (error) {
    await storage.close();
    await flushLogger(logger);
    throw new OccdbError('USAGE', `${name} cannot listen on ${host}:${entry.port}: ${(error as Error).message}`);
  }
  logger.info(`${name} listening on ${host}:${server.port}${unixSocketsNote([server])}`);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info(`${name} stopping`);
      // Stop first, then wait: what is already queued is refused, and the request that is
      // running finishes (and is answered) before the sockets and LevelDB close.
      await service.stop();
      // One turn of the event loop lets the last reply reach its socket before it closes.
      await new Promise((resolve) => setImmediate(resolve));
      await server!.close();
      await storage.close();
      logger.info(`${name} stopped`);
      await flushLogger(logger);
    })();
    return closing;
  };
  return { port: server.port, close };
}

/** What a database needs of its store: LevelDB in production (storage.ts), memory in tests. */
export type DatabaseStore = Pick<Storage, 'read' | 'versions' | 'applyGroup' | 'scan' | 'syncs' | 'readAcceptor' | 'writeAcceptor'>;

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
 * request queue (group commit); at-least reads wait for the versions they need.
 */
export class DatabaseService {
  private readonly queue: RequestQueue;
  private appliesDone = 0;
  /** The acceptor state last written to the store: what a failed write falls back to. */
  private durableAcceptor: AcceptorState;
  private requests = 0;

  constructor(
    name: string,
    private readonly storage: DatabaseStore,
    logger: Logger,
    /** The process's part of `status`: role, id, pid, ports, uptime, connections. */
    private readonly processStatus: () => Omit<Status, 'requests' | 'syncs' | 'applies' | 'lingers' | 'chosenEpoch' | 'promised'>,
    /** The Paxos acceptor of this database, as `openAcceptor` restored it. */
    private acceptor: Acceptor,
  ) {
    this.durableAcceptor = acceptor.snapshot();
    this.queue = new RequestQueue(name, async (applies) => {
      const written = await storage.applyGroup(applies);
      this.appliesDone += applies.length;
      if (logger.isDebugEnabled()) logger.debug(`apply group of ${applies.length}: ${applies.map((apply, index) => `ts=${formatTimestamp(apply.ts)} writes=${apply.writes.length} written=${written[index]}`).join('; ')}`);
      return written.map((count) => ({ written: count }));
    });
  }

  handle(request: DatabaseRequest): Promise<unknown> {
    this.requests += 1;
    const { queue, storage } = this;
    switch (request.type) {
      case 'db.apply':
        return queue.apply(request.ts, request.writes);
      case 'db.apply-batch':
        // Admitted together, so they land in the same group: one batch, one sync.
        return Promise.all(request.applies.map((apply) => queue.apply(apply.ts, apply.writes))).then((results) => ({ written: results.map((result) => result.written) }));
      case 'ping':
        return queue.read(async () => ({}));
      case 'status':
        return queue.read(async () => ({
          ...this.processStatus(), requests: this.requests, syncs: storage.syncs, applies: this.appliesDone, lingers: queue.lingers,
          chosenEpoch: this.durableAcceptor.chosen.epoch, promised: this.durableAcceptor.promised,
        }));
      case 'db.read':
        if (request.atLeast && request.atLeast.length > 0 && (request.waitMs ?? 0) > 0) return this.readAtLeast(request.keys, request.atLeast, request.waitMs!);
        return queue.readCommitted(request.keys, () => storage.read(request.keys)).then((entries) => ({ entries }));
      case 'db.versions':
        return queue.read(async () => ({ versions: await storage.versions(request.keys) }), request.keys);
      case 'db.scan':
        return queue.read(() => storage.scan(request.after, request.limit));
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
        await this.storage.writeAcceptor(effect.state);
      } catch (error) {
        this.acceptor = Acceptor.restore(this.durableAcceptor);
        throw new OccdbError('STORAGE_UNAVAILABLE', `cannot write the acceptor state: ${(error as Error).message}`);
      }
      this.durableAcceptor = effect.state;
    }
    return answer;
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
