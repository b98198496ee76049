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

  const startedAtMs = Date.now();
  let server: NdjsonServer | null = null;
  const host = listenAddress(entry.host);
  const service = new DatabaseService(name, storage, logger, () => ({
    role: 'database', id: options.id, pid: process.pid, ports: { port: server?.port ?? entry.port }, uptimeMs: Date.now() - startedAtMs, connections: connectionsOf([server]),
  }));
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
export type DatabaseStore = Pick<Storage, 'read' | 'versions' | 'applyGroup' | 'scan' | 'syncs'>;

/**
 * The requests of a DATABASE, whatever carries them: the TCP/Unix server above, or an
 * in-process test that passes messages by hand. Reads run at once; APPLYs go through the
 * request queue (group commit); at-least reads wait for the versions they need.
 */
export class DatabaseService {
  private readonly queue: RequestQueue;
  private appliesDone = 0;
  private requests = 0;

  constructor(
    name: string,
    private readonly storage: DatabaseStore,
    logger: Logger,
    /** The process's part of `status`: role, id, pid, ports, uptime, connections. */
    private readonly processStatus: () => Omit<Status, 'requests' | 'syncs' | 'applies' | 'lingers'>,
  ) {
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
        return queue.read(async () => ({ ...this.processStatus(), requests: this.requests, syncs: storage.syncs, applies: this.appliesDone, lingers: queue.lingers }));
      case 'db.read':
        if (request.atLeast && request.atLeast.length > 0 && (request.waitMs ?? 0) > 0) return this.readAtLeast(request.keys, request.atLeast, request.waitMs!);
        return queue.readCommitted(request.keys, () => storage.read(request.keys)).then((entries) => ({ entries }));
      case 'db.versions':
        return queue.read(async () => ({ versions: await storage.versions(request.keys) }), request.keys);
      case 'db.scan':
        return queue.read(() => storage.scan(request.after, request.limit));
    }
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
