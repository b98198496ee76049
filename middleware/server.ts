// The MIDDLEWARE process: a client port for transactions, a peer port for the other
// middlewares (VALIDATE, locks under 2PL, and the view protocol: heartbeats, stop, install),
// and connections to every database replica. Its membership is kept by middleware/views.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '../protocol/connection.js';
import {
  findMiddleware, listenAddress, middlewarePeerEndpoint, readClusterFile, type ClusterFile,
} from '../cluster/cluster-file.js';
import { OccdbError, PORT_IN_USE, isUnavailableError } from '../errors/catalogue.js';
import { createLogger, flushLogger, type LogFormat, type LogLevel, type Logger } from '../runtime/log.js';
import {
  ClientRequestSchema, PeerRequestSchema, type ClientRequest, type PeerRequest, type Status, type TxnResult,
} from '../protocol/schemas.js';
import { applySchedulingPolicy } from '../runtime/scheduling.js';
import { CLIENT_PORT_LIMITS, NdjsonServer, type Session, connectionsOf, requestsReceivedByType, unixSocketsNote } from '../protocol/server.js';
import { setNodeName } from '../protocol/credentials.js';
import { clientPortAuthority, nodeAuthority } from '../cluster/authority.js';
import { readSecret } from '../cluster/secret.js';
import { type TlsFiles, readTlsFiles, logTransportSecurity } from '../cluster/tls.js';
import { UsersWatcher, usersPath } from '../cluster/users.js';
import { refusal } from './roles.js';
import type { MiddlewareFaults } from './faults.js';
import type { TransactionEngine } from './engine.js';
import { OccEngine } from './occ-engine.js';
import { ReplicaSet } from './replicas.js';
import { failedResult } from '../transaction/results.js';
import { TRANSACTION_LIMITS_DEFAULT, type TransactionLimits } from '../transaction/retry.js';
import { TwoPhaseLockingEngine } from './twopl-engine.js';
import { nextIncarnation } from './incarnation.js';
import { ViewKeeper } from './views.js';
import { TransactionObserver } from '../metrics/transactions.js';
import type { Trace } from '../metrics/traces.js';
import { createRegistry } from '../metrics/registry.js';
import { registerMiddlewareMetrics } from '../metrics/process-metrics.js';
import { serveMetrics, type MetricsServer } from '../metrics/server.js';

export const MIDDLEWARE_VERSION = 'occdb-0.1.0';
const DRAIN_TIMEOUT_MS = 120_000;
const DRAIN_POLL_MS = 20;
const ACTIVE_TRANSACTIONS_MAX = 10_000;

export interface MiddlewareOptions {
  id: number;
  clusterFile: string;
  logLevel: LogLevel;
  logFormat?: LogFormat;
  console: boolean;
  faults?: MiddlewareFaults;
  limits?: Partial<TransactionLimits>;
}

export interface RunningMiddleware {
  /** Leaves the cluster cleanly and closes everything. */
  shutdown(reason: string): Promise<void>;
  readonly finished: Promise<void>;
}

export async function runMiddleware(options: MiddlewareOptions): Promise<RunningMiddleware> {
  // Before the cluster file is read: reading it registers this process's keys under its name.
  setNodeName(`MIDDLEWARE${options.id}`);
  const cluster = readClusterFile(options.clusterFile);
  const secret = readSecret(options.clusterFile);
  const tlsFiles = cluster.tls === undefined ? undefined : readTlsFiles(options.clusterFile);
  const self = findMiddleware(cluster, options.id);
  fs.mkdirSync(self.dir, { recursive: true });
  const logger = createLogger({ name: `MIDDLEWARE${options.id}`, level: options.logLevel, file: path.join(self.dir, 'middleware.log'), console: options.console, format: options.logFormat ?? 'text' });
  logger.info(applySchedulingPolicy(cluster.scheduling));
  logTransportSecurity(cluster, logger);
  const middleware = new Middleware(cluster, secret, tlsFiles, options, logger);
  try {
    await middleware.start();
  } catch (error) {
    logger.error(`start failed: ${(error as Error).message}`);
    await middleware.close();
    await flushLogger(logger);
    throw error;
  }
  return middleware;
}

class Middleware implements RunningMiddleware {
  private readonly replicas: ReplicaSet;
  private readonly engine: TransactionEngine;
  private readonly peers = new Map<number, Connection>();
  private peerServer: NdjsonServer | null = null;
  private clientServer: NdjsonServer | null = null;
  private metricsServer: MetricsServer | null = null;
  private readonly startedAt = Date.now();
  private activeTransactions = 0;
  private leaving: Promise<void> | null = null;
  private resolveFinished!: () => void;
  readonly finished = new Promise<void>((resolve) => { this.resolveFinished = resolve; });
  private readonly limits: TransactionLimits;
  private readonly views: ViewKeeper;
  /** Counts and records the transactions run here: the metrics, `observe` and status read it. */
  private readonly observer: TransactionObserver;

  constructor(private readonly cluster: ClusterFile, private readonly secret: Buffer, private readonly tlsFiles: TlsFiles | undefined, private readonly options: MiddlewareOptions, private readonly logger: Logger) {
    const index = cluster.middlewares.findIndex((m) => m.id === options.id);
    const identity = { self: () => this.views.self, watermark: () => this.engine.watermark() };
    this.replicas = new ReplicaSet(cluster.databases, index, logger, identity, { host: cluster.middlewares[index]!.host });
    this.limits = { ...TRANSACTION_LIMITS_DEFAULT, ...options.limits };
    this.observer = new TransactionObserver(options.id);
    const common = {
      id: options.id, replicas: this.replicas, peer: (member: number) => this.peer(member), logger, limits: this.limits,
      magic: (args: readonly [number, number, number]) => this.magic(args), observer: this.observer,
    };
    this.engine = cluster.strategy === 'occ'
      ? new OccEngine({ ...common, faults: options.faults, onFenced: (detail) => this.views.onFenced(detail) })
      : new TwoPhaseLockingEngine({ ...common, strategy: cluster.strategy, onFenced: (detail) => this.views.onFenced(detail) });
    this.views = new ViewKeeper({
      id: options.id,
      databases: cluster.databases.map((database) => database.id),
      replicas: this.replicas,
      peer: (member) => this.peer(member),
      engine: this.engine,
      logger,
      nextIncarnation: () => nextIncarnation(this.self.dir),
      skipRecovery: options.faults?.skipRecovery ?? false,
      faults: { skipTransfer: options.faults?.skipTransfer ?? false, admitReturningInSync: options.faults?.admitReturningInSync ?? false, recoverReplicasOnly: options.faults?.recoverReplicasOnly ?? false },
    });
  }

  get self() {
    return findMiddleware(this.cluster, this.options.id);
  }

  async start(): Promise<void> {
    const host = listenAddress(this.self.host);
    if (this.self.metricsPort !== undefined) this.metricsServer = await this.serveMetrics(host, this.self.metricsPort);
    // The peer port opens first: peers that start at the same time must be able to reach
    // us while we are still joining, or two starting middlewares could miss each other.
    this.peerServer = await listen(() => NdjsonServer.listen({
      host, port: this.self.peerPort, schema: PeerRequestSchema, knownTypes: PeerRequestSchema.options.map((o) => o.shape.type.value),
      handle: (request) => this.onPeerRequest(request), logger: this.logger, label: `MIDDLEWARE${this.options.id} peer port`, socketPath: this.self.peerSocket,
      auth: nodeAuthority(this.secret),
      ...(this.tlsFiles ? { tls: this.tlsFiles } : {}),
    }), `peer port ${this.self.peerPort}`);
    await this.views.join();
    this.clientServer = await listen(() => NdjsonServer.listen({
      host, port: this.self.clientPort, schema: ClientRequestSchema, knownTypes: ClientRequestSchema.options.map((o) => o.shape.type.value),
      handle: (request, session) => this.onClientRequest(request, session), logger: this.logger, label: `MIDDLEWARE${this.options.id} client port`, socketPath: this.self.clientSocket,
      ...(this.tlsFiles ? { tls: this.tlsFiles } : {}),
      auth: clientPortAuthority(this.secret, new UsersWatcher(usersPath(this.options.clusterFile), (problem) => this.logger.warn(problem))),
      limits: CLIENT_PORT_LIMITS,
    }), `client port ${this.self.clientPort}`);
    const faults = Object.entries(this.options.faults ?? {}).filter(([, on]) => on).map(([name]) => name);
    if (faults.length > 0) this.logger.warn(`FAULTS INJECTED ON PURPOSE: ${faults.join(', ')}: this middleware is not serializable`);
    this.logger.info(`MIDDLEWARE${this.options.id} listening on ${host}:${this.self.clientPort} (clients) and :${this.self.peerPort} (peers)${this.metricsServer ? `, metrics on :${this.metricsServer.port}` : ''}${unixSocketsNote([this.clientServer, this.peerServer])}; strategy ${this.engine.strategy}; view ${this.views.installed?.epoch}, members ${this.views.installed?.members.map((m) => `MIDDLEWARE${m.id}`).join(', ')}; ${this.replicas.ids.length} replicas`);
  }

  private serveMetrics(host: string, port: number): Promise<MetricsServer> {
    const registry = createRegistry(`MIDDLEWARE${this.options.id}`);
    registerMiddlewareMetrics(registry, {
      observer: this.observer,
      messages: { sent: Connection.requestsSentByType, received: requestsReceivedByType },
      inFlight: () => this.activeTransactions,
      view: () => {
        const view = this.views.installed;
        return view ? { epoch: view.epoch, members: view.members.length, replicas: view.replicas.length, joining: view.joining.length } : undefined;
      },
      appliesPending: () => this.replicas.ids.map((database) => [database, this.replicas.appliesPending(database)] as const),
      suspicions: () => this.views.suspicionsRaised,
    });
    return serveMetrics({ host, port, registry, label: `MIDDLEWARE${this.options.id}` });
  }

  private async onPeerRequest(request: PeerRequest): Promise<unknown> {
    switch (request.type) {
      case 'ping': return {};
      case 'status': return this.status();
      case 'peer.heartbeat': return this.views.onHeartbeat(request);
      case 'peer.stop': return this.views.onStop(request.view);
      case 'peer.install': return this.views.onInstall(request.view, request.clock);
      default: {
        const answer = this.engine.onPeerRequest(request);
        if (!answer) throw new OccdbError('UNKNOWN_MESSAGE', `a ${this.engine.strategy} middleware does not take ${request.type}`);
        return answer;
      }
    }
  }

  private async onClientRequest(request: ClientRequest, session: Session): Promise<unknown> {
    const refused = refusal(session.role, request);
    if (refused !== null) throw new OccdbError('FORBIDDEN', refused);
    switch (request.type) {
      case 'ping': return {};
      case 'status': return this.status();
      case 'shutdown':
        setImmediate(() => void this.shutdown('shutdown requested'));
        return {};
      case 'txn.run': return this.runObservedTransaction(request.commands, request.end);
      case 'observe': return this.observer.observe();
    }
  }

  /** Runs a client transaction with its trace: the result names it (`traceId`), and its outcome is counted. */
  private async runObservedTransaction(commands: Extract<ClientRequest, { type: 'txn.run' }>['commands'], end: 'commit' | 'rollback'): Promise<TxnResult> {
    const trace = this.observer.begin();
    let result: TxnResult;
    try {
      result = await this.runClientTransaction(commands, end, trace);
    } catch (error) {
      this.observer.finishWithError(trace, error instanceof OccdbError ? error.code : 'INTERNAL');
      throw error;
    }
    this.observer.finish(trace, result);
    result.traceId = trace.id;
    return result;
  }

  private async runClientTransaction(commands: Extract<ClientRequest, { type: 'txn.run' }>['commands'], end: 'commit' | 'rollback', trace: Trace): Promise<TxnResult> {
    if (this.leaving) throw new OccdbError('MIDDLEWARE_LEAVING', `MIDDLEWARE${this.options.id} is shutting down; use another middleware`);
    if (!this.views.hasDatabaseQuorum()) throw new OccdbError('NO_QUORUM', `MIDDLEWARE${this.options.id} reaches fewer than a majority of the databases; nothing can commit here until it does`);
    if (this.activeTransactions >= ACTIVE_TRANSACTIONS_MAX) {
      return failedResult(this.options.id, 0, 'NODE_UNAVAILABLE', `MIDDLEWARE${this.options.id} is overloaded (${ACTIVE_TRANSACTIONS_MAX} transactions running); try again`);
    }
    this.activeTransactions += 1;
    try {
      const result = await this.engine.run(commands, end, trace);
      if (result.quit) setImmediate(() => void this.shutdown('QUIT'));
      return result;
    } catch (error) {
      if (!isUnavailableError(error)) throw error;
      return failedResult(this.options.id, 0, 'NODE_UNAVAILABLE', error.message);
    } finally {
      this.activeTransactions -= 1;
    }
  }

  private magic(args: readonly [number, number, number]): string {
    const [a, b, c] = args;
    if (a === 0 && b === 0 && c === 0) return `${os.userInfo().uid} ${process.pid} ${MIDDLEWARE_VERSION}`;
    if (a === 1 && b === 0 && c === 0) return `MIDDLEWARE${this.options.id} clock ${this.engine.clockValue()}`;
    throw new OccdbError('MAGIC_UNKNOWN', `Operation failed or unknown: MAGIC ${a} ${b} ${c}`);
  }

  private status(): Status {
    const engine = this.engine.status();
    return {
      role: 'middleware',
      id: this.options.id,
      pid: process.pid,
      ports: { client: this.self.clientPort, peer: this.self.peerPort, ...(this.metricsServer ? { metrics: this.metricsServer.port } : {}) },
      uptimeMs: Date.now() - this.startedAt,
      strategy: this.engine.strategy,
      incarnation: this.views.self.incarnation,
      ...(this.views.installed ? { view: this.views.installed } : {}),
      suspected: this.views.suspected,
      suspectedDatabases: this.views.suspectedDatabases,
      transfer: this.views.transfer,
      messagesSent: Connection.requestsSent,
      connections: connectionsOf([this.clientServer, this.peerServer]),
      ...engine,
      // Counted from the replies: the core counts a rolled-back transaction, validated as a
      // read-only one, among its commits.
      commits: this.observer.committed,
      rolledBack: this.observer.rolledBack,
      failed: [...this.observer.failed.values()].reduce((sum, count) => sum + count, 0),
    };
  }

  private peer(member: number): Connection {
    let connection = this.peers.get(member);
    if (!connection) {
      const entry = findMiddleware(this.cluster, member);
      connection = new Connection(middlewarePeerEndpoint(entry, { host: this.self.host }), `MIDDLEWARE${member}`);
      this.peers.set(member, connection);
    }
    return connection;
  }

  /**
   * Leave (docs/design.md, "A middleware that returns"): take no new transactions, let the
   * running ones finish, then get a view without this life chosen and installed. Until then the
   * peer port stays open, so votes asked of us before the others removed us are still answered.
   */
  shutdown(reason: string): Promise<void> {
    if (this.leaving) return this.leaving;
    this.leaving = (async () => {
      this.logger.info(`leaving the cluster (${reason})`);
      // Transactions already running may finish (for a while); new ones are refused.
      await waitUntil(() => this.activeTransactions === 0, DRAIN_TIMEOUT_MS);
      // From now on nothing new is stamped (or locked here). What is stamped must finish:
      // a middleware that left can no longer vote, so it must have nothing in flight.
      this.engine.beginLeaving();
      for (let waitedMs = 0; this.engine.busy(); waitedMs += DRAIN_POLL_MS) {
        if (waitedMs > 0 && waitedMs % 10_000 === 0) this.logger.warn(`still waiting for in-flight transactions to finish before leaving (${waitedMs / 1000} s)`);
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
      try {
        await this.views.leave();
      } catch (error) {
        this.logger.warn(`could not leave the view cleanly (${(error as Error).message}); the others will remove this middleware when it stops answering`);
      }
      await this.close();
      this.logger.info('left; exiting');
      await flushLogger(this.logger);
      this.resolveFinished();
    })();
    return this.leaving;
  }

  async close(): Promise<void> {
    this.views.close();
    await this.metricsServer?.close();
    await this.clientServer?.close();
    await this.peerServer?.close();
    for (const connection of this.peers.values()) connection.close();
    this.replicas.close();
  }
}

/** Polls `done` until it holds or `timeoutMs` passed. */
async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
}

async function listen(open: () => Promise<NdjsonServer>, what: string): Promise<NdjsonServer> {
  try {
    return await open();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new OccdbError('NODE_UNAVAILABLE', `${what} ${PORT_IN_USE}`);
    if (code === 'EADDRNOTAVAIL') throw new OccdbError('NODE_UNAVAILABLE', `${what}: the address is not on this machine`);
    throw error;
  }
}
