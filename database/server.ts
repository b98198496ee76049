// The DATABASE process: a TCP server over one LevelDB directory. It serves one request at a
// time, in arrival order across all connections, and knows nothing of replication.
import fs from 'node:fs';
import path from 'node:path';
import { OccdbError } from '../protocol/errors.js';
import { createLogger, flushLogger, type LogLevel } from '../protocol/log.js';
import { findDatabase, listenAddress, readClusterFile } from '../protocol/cluster.js';
import { DatabaseRequestSchema, type DatabaseRequest, type Write } from '../protocol/schemas.js';
import { NdjsonServer, connectionsOf, unixSocketsNote } from '../protocol/server.js';
import { formatTimestamp, type Timestamp } from '../timestamp/timestamp.js';
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

/** Requests waiting behind the running one; beyond this the database refuses rather than grow without bound. */
export const QUEUE_LENGTH_MAX = 100_000;

const KNOWN_TYPES: readonly string[] = DatabaseRequestSchema.options.map((option) => option.shape.type.value);

export async function runDatabase(options: DatabaseOptions): Promise<RunningDatabase> {
  const cluster = readClusterFile(options.clusterFile);
  const entry = findDatabase(cluster, options.id);
  const name = `DATABASE${options.id}`;
  const dataDir = path.resolve(entry.dir, 'data');
  try {
    fs.mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw new OccdbError('USAGE', `${name} cannot create its data directory ${dataDir}: ${(error as Error).message}`);
  }
  const logger = createLogger({ name, level: options.logLevel, file: path.resolve(entry.dir, 'database.log'), console: options.console });

  let storage: Storage;
  try {
    storage = await Storage.open(dataDir);
  } catch (error) {
    await flushLogger(logger);
    if (isLockedError(error)) {
      throw new OccdbError('USAGE', `${name}'s data directory ${dataDir} is in use by another process (is ${name} already running?)`);
    }
    throw new OccdbError('INTERNAL', `${name} cannot open its data directory ${dataDir}: ${(error as Error).message}`);
  }

  let appliesDone = 0;
  const queue = new RequestQueue(name, async (applies) => {
    const written = await storage.applyGroup(applies);
    appliesDone += applies.length;
    if (logger.isDebugEnabled()) logger.debug(`apply group of ${applies.length}: ${applies.map((apply, index) => `ts=${formatTimestamp(apply.ts)} writes=${apply.writes.length} written=${written[index]}`).join('; ')}`);
    return written.map((count) => ({ written: count }));
  });
  const startedAtMs = Date.now();
  let requests = 0;
  let server: NdjsonServer | null = null;
  const host = listenAddress(entry.host);

  const handle = (request: DatabaseRequest): Promise<unknown> => {
    requests += 1;
    switch (request.type) {
      case 'db.apply':
        return queue.apply(request.ts, request.writes);
      case 'db.apply-batch':
        // Admitted together, so they land in the same group: one batch, one sync.
        return Promise.all(request.applies.map((apply) => queue.apply(apply.ts, apply.writes))).then((results) => ({ written: results.map((result) => result.written) }));
      case 'ping':
        return queue.read(async () => ({}));
      case 'status':
        return queue.read(async () => ({ role: 'database', id: options.id, pid: process.pid, ports: { port: server?.port ?? entry.port }, uptimeMs: Date.now() - startedAtMs, requests, connections: connectionsOf([server]), syncs: storage.syncs, applies: appliesDone }));
      case 'db.read':
        return queue.read(async () => ({ entries: await storage.read(request.keys) }), request.keys);
      case 'db.versions':
        return queue.read(async () => ({ versions: await storage.versions(request.keys) }), request.keys);
      case 'db.scan':
        return queue.read(() => storage.scan(request.after, request.limit));
    }
  };

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
      await queue.stop();
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

type ApplyGroupRunner = (applies: Array<{ ts: Timestamp; writes: Write[] }>) => Promise<Array<{ written: number }>>;

interface Step {
  started: boolean;
  applies: Array<{ ts: Timestamp; writes: Write[]; resolve: (result: { written: number }) => void; reject: (error: unknown) => void }>;
}

/**
 * The database's one line of writes, in arrival order: APPLYs run one group at a time, and
 * the APPLYs that arrive while a group is being written form the next group: one atomic
 * batch, one sync (group commit), the same result as applying them one after another.
 */
class RequestQueue {
  private tail: Promise<void> = Promise.resolve();
  private last: Step | null = null;
  private length = 0;
  private stopped = false;
  /** key -> APPLYs admitted (waiting or being written) that write it. */
  private readonly keysBeingWritten = new Map<string, number>();

  constructor(private readonly name: string, private readonly runApplyGroup: ApplyGroupRunner) {}

  /**
   * Reads do not wait behind APPLYs of other keys. An APPLY is acknowledged only after its batch is in
   * LevelDB, so every read that arrives after an acknowledgement sees it; a read that
   * overlaps an APPLY sees it whole or not at all (one batch; getMany reads one snapshot).
   * Reads racing an unacknowledged APPLY are the validation round's business, as reads
   * from a replica that has not applied yet are.
   */
  read<T>(task: () => Promise<T>, keys: readonly string[] = []): Promise<T> {
    if (this.stopped) return Promise.reject(this.stoppingError());
    // Except a read of a key an admitted APPLY writes: that APPLY is a committed write, so
    // the version before it is already stale and a transaction that read it could only
    // restart. The read waits for the groups admitted so far (one sync or two) instead.
    if (keys.some((key) => this.keysBeingWritten.has(key))) return this.tail.then(task);
    return task();
  }

  apply(ts: Timestamp, writes: Write[]): Promise<{ written: number }> {
    return new Promise((resolve, reject) => {
      const step = this.admit(reject);
      if (!step) return;
      this.markWriting(writes, 1);
      const done = (): void => {
        this.length -= 1;
        this.markWriting(writes, -1);
      };
      step.applies.push({ ts, writes, resolve: (result) => { done(); resolve(result); }, reject: (error) => { done(); reject(error); } });
    });
  }

  private markWriting(writes: readonly Write[], change: 1 | -1): void {
    for (const { key } of writes) {
      const count = (this.keysBeingWritten.get(key) ?? 0) + change;
      if (count === 0) this.keysBeingWritten.delete(key);
      else this.keysBeingWritten.set(key, count);
    }
  }

  /** Refuses every request not yet started and resolves once the running step has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.tail;
  }

  /** The group a new APPLY joins: the last one if it has not started, else a new one. */
  private admit(reject: (error: unknown) => void): Step | null {
    if (this.stopped) {
      reject(this.stoppingError());
      return null;
    }
    if (this.length >= QUEUE_LENGTH_MAX) {
      reject(new OccdbError('NODE_UNAVAILABLE', `${this.name} has ${QUEUE_LENGTH_MAX} APPLYs waiting; try again later`));
      return null;
    }
    this.length += 1;
    if (this.last && !this.last.started) return this.last;
    const step: Step = { started: false, applies: [] };
    this.last = step;
    this.tail = this.tail.then(() => this.runStep(step));
    return step;
  }

  private async runStep(step: Step): Promise<void> {
    step.started = true;
    if (this.stopped) {
      const error = this.stoppingError();
      for (const apply of step.applies) apply.reject(error);
      return;
    }
    try {
      const results = await this.runApplyGroup(step.applies.map(({ ts, writes }) => ({ ts, writes })));
      step.applies.forEach((apply, index) => apply.resolve(results[index]!));
    } catch (error) {
      for (const apply of step.applies) apply.reject(error);
    }
  }

  private stoppingError(): OccdbError {
    return new OccdbError('NODE_UNAVAILABLE', `${this.name} is shutting down`);
  }
}
