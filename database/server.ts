// The DATABASE process: a TCP server over one LevelDB directory. It serves one request at a
// time, in arrival order across all connections, and knows nothing of replication.
import fs from 'node:fs';
import path from 'node:path';
import { OccdbError } from '../errors/catalogue.js';
import { createLogger, flushLogger, type LogLevel } from '../runtime/log.js';
import { findDatabase, listenAddress, readClusterFile } from '../cluster/cluster-file.js';
import { DatabaseRequestSchema, type DatabaseRequest, type Entry } from '../protocol/schemas.js';
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

  let appliesDone = 0;
  const queue = new RequestQueue(name, async (applies) => {
    const written = await storage.applyGroup(applies);
    appliesDone += applies.length;
    if (logger.isDebugEnabled()) logger.debug(`apply group of ${applies.length}: ${applies.map((apply, index) => `ts=${formatTimestamp(apply.ts)} writes=${apply.writes.length} written=${written[index]}`).join('; ')}`);
    return written.map((count) => ({ written: count }));
  });
  /**
   * A read that needs at least some versions: answered once they are committed here (stored,
   * or brought by an admitted APPLY: `atLeastReached`), or when `waitMs` has passed, with what
   * there is then. Each APPLY admitted and each group written may bring them, so the read is
   * checked again after each.
   */
  const readAtLeast = async (keys: string[], atLeast: Array<[string, Timestamp]>, waitMs: number): Promise<{ entries: Entry[] }> => {
    const deadlineMs = performance.now() + waitMs;
    for (;;) {
      const entries = await queue.readCommitted(keys, () => storage.read(keys));
      const remainingMs = deadlineMs - performance.now();
      if (atLeastReached(keys, entries, atLeast) || remainingMs <= 0) return { entries };
      await queue.nextChange(remainingMs);
    }
  };
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
        return queue.read(async () => ({ role: 'database', id: options.id, pid: process.pid, ports: { port: server?.port ?? entry.port }, uptimeMs: Date.now() - startedAtMs, requests, connections: connectionsOf([server]), syncs: storage.syncs, applies: appliesDone, lingers: queue.lingers }));
      case 'db.read':
        if (request.atLeast && request.atLeast.length > 0 && (request.waitMs ?? 0) > 0) return readAtLeast(request.keys, request.atLeast, request.waitMs!);
        return queue.readCommitted(request.keys, () => storage.read(request.keys)).then((entries) => ({ entries }));
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
