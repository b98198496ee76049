// The DATABASE process: a TCP server over one LevelDB directory. It serves one request at a
// time, in arrival order across all connections, and knows nothing of replication.
import fs from 'node:fs';
import path from 'node:path';
import { OccdbError } from '../protocol/errors.js';
import { createLogger, flushLogger, type LogLevel } from '../protocol/log.js';
import { findDatabase, listenAddress, readClusterFile } from '../protocol/cluster.js';
import { DatabaseRequestSchema, type DatabaseRequest } from '../protocol/schemas.js';
import { NdjsonServer } from '../protocol/server.js';
import { formatTimestamp } from '../timestamp/timestamp.js';
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

  const queue = new RequestQueue(name);
  const startedAtMs = Date.now();
  let requests = 0;
  let server: NdjsonServer | null = null;
  const host = listenAddress(entry.host);

  const handle = (request: DatabaseRequest): Promise<unknown> => queue.run(async () => {
    requests += 1;
    switch (request.type) {
      case 'ping':
        return {};
      case 'status':
        return { role: 'database', id: options.id, pid: process.pid, ports: { port: server?.port ?? entry.port }, uptimeMs: Date.now() - startedAtMs, requests };
      case 'db.read':
        return { entries: await storage.read(request.keys) };
      case 'db.versions':
        return { versions: await storage.versions(request.keys) };
      case 'db.apply': {
        const written = await storage.apply(request.ts, request.writes);
        logger.debug(`apply ts=${formatTimestamp(request.ts)} writes=${request.writes.length} written=${written}`);
        return { written };
      }
      case 'db.scan':
        return await storage.scan(request.after, request.limit);
    }
  });

  try {
    server = await NdjsonServer.listen({ host, port: entry.port, schema: DatabaseRequestSchema, knownTypes: KNOWN_TYPES, handle, logger, label: name });
  } catch (error) {
    await storage.close();
    await flushLogger(logger);
    throw new OccdbError('USAGE', `${name} cannot listen on ${host}:${entry.port}: ${(error as Error).message}`);
  }
  logger.info(`${name} listening on ${host}:${server.port}`);

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

/** Runs tasks one at a time in the order they were submitted: a task starts only after the previous one finished. */
class RequestQueue {
  private tail: Promise<void> = Promise.resolve();
  private length = 0;
  private stopped = false;

  constructor(private readonly name: string) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(this.stoppingError());
    if (this.length >= QUEUE_LENGTH_MAX) {
      return Promise.reject(new OccdbError('NODE_UNAVAILABLE', `${this.name} has ${QUEUE_LENGTH_MAX} requests waiting; try again later`));
    }
    this.length += 1;
    const result = this.tail.then(() => {
      if (this.stopped) throw this.stoppingError();
      return task();
    });
    const settled = (): void => { this.length -= 1; };
    this.tail = result.then(settled, settled);
    return result;
  }

  /** Refuses every task not yet started and resolves once the running one has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.tail;
  }

  private stoppingError(): OccdbError {
    return new OccdbError('NODE_UNAVAILABLE', `${this.name} is shutting down`);
  }
}
