// A whole cluster in one process, for the transactional suite: each strategy's production
// engine (middleware/occ-engine.ts, middleware/twopl-engine.ts) with its production replica set
// (middleware/replicas.ts) and view keeper (middleware/views.ts: every middleware joins through
// Paxos at the databases and a view installation, as a real one does), production database services (database/server.ts) over stores in
// memory, and the production client loop (client/run.ts). Only the sockets are replaced: every
// message goes through a seeded in-memory network that serializes it to JSON and back, checks
// it with the receiver's schema (protocol/server.ts serveRequest) and the answer with the
// sender's result schema, and delivers each after a random number of event-loop turns, so
// messages of different links overtake each other in an order the seed decides. On one link
// they keep their order in each direction, as on one TCP connection: strict 2PL relies on it
// (a release sent after a lock request must not overtake it, or the lock is granted to a
// transaction that has already let go, and is never released).
import { parseCommandFile } from '../../client/parser.js';
import { runBlocks } from '../../client/run.js';
import { DatabaseService, initialView } from '../../database/server.js';
import { Acceptor } from '../../view/acceptor.js';
import { OccdbError } from '../../errors/catalogue.js';
import { OccEngine } from '../../middleware/occ-engine.js';
import type { TransactionEngine } from '../../middleware/engine.js';
import { ReplicaSet } from '../../middleware/replicas.js';
import { TwoPhaseLockingEngine } from '../../middleware/twopl-engine.js';
import { ViewKeeper } from '../../middleware/views.js';
import { makeIncarnation } from '../../view/types.js';
import type { Strategy } from '../../cluster/cluster-file.js';
import { parseResult, type RequestLink } from '../../protocol/connection.js';
import {
  ClientRequestSchema, DatabaseRequestSchema, PeerRequestSchema, ReplySchema,
  type ClientRequest, type OutgoingRequest, type ResultOf, type Status, type TxnResult,
} from '../../protocol/schemas.js';
import { serveRequest } from '../../protocol/server.js';
import { createLogger } from '../../runtime/log.js';
import { TRANSACTION_LIMITS_DEFAULT } from '../../transaction/retry.js';
import { Random } from '../simulation/random.js';
import { MemoryStore } from './memory-store.js';
import type { SuiteCluster } from '../suites/transactional.js';

/** Most event-loop turns a message or an answer waits before it is delivered. */
const DELIVERY_TURNS_MAX = 3;
const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;

type Serve = (raw: unknown, send: (reply: unknown) => void) => void;

/** The in-memory network: links that carry requests to a `serve` function in delivery order decided by the seed. */
export class InProcessNetwork {
  private readonly random: Random;
  private readonly links = new Set<InProcessLink>();
  messages = 0;

  constructor(readonly seed: number) {
    this.random = new Random(seed);
  }

  link(label: string, serve: Serve): RequestLink {
    const link = new InProcessLink(label, serve, this);
    this.links.add(link);
    return link;
  }

  /** Resolves after 0..DELIVERY_TURNS_MAX turns of the event loop, as the seed draws. */
  async delay(): Promise<void> {
    for (let turns = this.random.int(0, DELIVERY_TURNS_MAX); turns > 0; turns--) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Delivers `deliver` after a delay, but never before what was sent earlier on `lane` (FIFO). */
  send(lane: { tail: Promise<void> }, deliver: () => void): void {
    lane.tail = lane.tail.then(() => this.delay()).then(deliver);
  }

  close(): void {
    for (const link of this.links) link.close();
  }
}

class InProcessLink implements RequestLink {
  answers = 0;
  private nextId = 1;
  private closed = false;
  private readonly pending = new Set<(error: Error) => void>();
  /** The two directions of the link, each first in, first out. */
  private readonly requests = { tail: Promise.resolve() };
  private readonly replies = { tail: Promise.resolve() };

  constructor(readonly label: string, private readonly serve: Serve, private readonly network: InProcessNetwork) {}

  async request<M extends OutgoingRequest>(message: M & { id?: never }, timeoutMs = REQUEST_TIMEOUT_MS_DEFAULT): Promise<ResultOf<M['type']>> {
    if (this.closed) throw new OccdbError('NODE_UNAVAILABLE', `link to ${this.label} is closed`);
    const id = this.nextId++;
    this.network.messages += 1;
    // Through JSON, as on the wire: nothing shared between sender and receiver.
    const raw: unknown = JSON.parse(JSON.stringify(Object.assign({ id }, message)));
    const result = await new Promise<unknown>((resolve, reject) => {
      const fail = (error: Error): void => { clearTimeout(timer); this.pending.delete(fail); reject(error); };
      const timer = setTimeout(() => fail(new OccdbError('TIMEOUT', `${this.label} did not answer ${message.type} within ${timeoutMs} ms`)), timeoutMs);
      this.pending.add(fail);
      this.network.send(this.requests, () => this.serve(raw, (reply) => {
        this.network.send(this.replies, () => {
          if (!this.pending.has(fail)) return;
          clearTimeout(timer);
          this.pending.delete(fail);
          this.answers += 1;
          const parsed = ReplySchema.parse(JSON.parse(JSON.stringify(reply)));
          if (parsed.ok) resolve(parsed.result);
          else reject(new OccdbError(parsed.error.code, parsed.error.message));
        });
      }));
    });
    return parseResult<M['type']>(message.type, result, this.label);
  }

  close(): void {
    this.closed = true;
    for (const fail of [...this.pending]) fail(new OccdbError('NODE_UNAVAILABLE', `link to ${this.label} closed`));
  }
}

export interface InProcessClusterOptions {
  middlewares: number;
  databases: number;
  strategy: Strategy;
  seed: number;
  retryCountMax?: number;
}

const knownTypes = (schema: { options: ReadonlyArray<{ shape: { type: { value: string } } }> }): string[] => schema.options.map((option) => option.shape.type.value);

/** A cluster of engines and database services in this process; see the file's header. */
export class InProcessCluster implements SuiteCluster {
  readonly kind = 'in-process';
  readonly network: InProcessNetwork;
  private readonly engines = new Map<number, TransactionEngine>();
  private readonly services = new Map<number, { store: MemoryStore; service: DatabaseService; serve: Serve }>();
  private readonly replicaSets: ReplicaSet[] = [];
  private readonly keepers = new Map<number, ViewKeeper>();
  readonly middlewareIds: number[];
  readonly databaseIds: number[];

  /** A cluster whose middlewares have all joined (at once, so their proposals compete). */
  static async start(options: InProcessClusterOptions): Promise<InProcessCluster> {
    const cluster = new InProcessCluster(options);
    await Promise.all([...cluster.keepers.values()].map((keeper) => keeper.join()));
    return cluster;
  }

  private constructor(options: InProcessClusterOptions) {
    this.network = new InProcessNetwork(options.seed);
    const logger = createLogger({ name: 'in-process', level: 'error', console: false });
    this.middlewareIds = Array.from({ length: options.middlewares }, (_, index) => index + 1);
    this.databaseIds = Array.from({ length: options.databases }, (_, index) => index + 1);
    const view = initialView({ middlewares: this.middlewareIds.map((id) => ({ id })), databases: this.databaseIds.map((id) => ({ id })) });
    for (const id of this.databaseIds) {
      const store = new MemoryStore();
      const name = `DATABASE${id}`;
      const service = new DatabaseService(name, store, logger, () => ({ role: 'database', id, pid: process.pid, ports: {}, uptimeMs: 0 }), Acceptor.start(view), { id });
      const serve: Serve = (raw, send) => serveRequest(raw, { schema: DatabaseRequestSchema, knownTypes: knownTypes(DatabaseRequestSchema), handle: (request) => service.handle(request), logger, label: name }, send);
      this.services.set(id, { store, service, serve });
    }
    const databases = this.databaseIds.map((id) => ({ id, host: 'in-process', port: 1, dir: `/in-process/database-${id}` }));
    const limits = { ...TRANSACTION_LIMITS_DEFAULT, ...(options.retryCountMax === undefined ? {} : { retryCountMax: options.retryCountMax }) };
    for (const [index, id] of this.middlewareIds.entries()) {
      const identity = { self: () => this.keepers.get(id)!.self, watermark: () => this.engines.get(id)!.watermark() };
      const replicas = new ReplicaSet(databases, index, logger, identity, 'this-machine', (database) => this.network.link(`DATABASE${database.id}`, this.services.get(database.id)!.serve));
      this.replicaSets.push(replicas);
      // One link per peer, kept, as the middleware keeps one connection per peer.
      const peers = new Map<number, RequestLink>();
      const peer = (member: number): RequestLink => {
        let link = peers.get(member);
        if (!link) peers.set(member, (link = this.network.link(`MIDDLEWARE${member}`, (raw, send) => this.servePeer(member, raw, send))));
        return link;
      };
      const common = { id, replicas, peer, logger, limits, magic: () => `MIDDLEWARE${id} in-process` };
      const engine: TransactionEngine = options.strategy === 'occ'
        ? new OccEngine({ ...common, onFenced: (detail) => this.keepers.get(id)!.onFenced(detail) })
        : new TwoPhaseLockingEngine({ ...common, strategy: options.strategy, onFenced: (detail) => this.keepers.get(id)!.onFenced(detail) });
      this.engines.set(id, engine);
      let boot = 0;
      this.keepers.set(id, new ViewKeeper({
        id, databases: this.databaseIds, replicas, peer, engine, logger, nextIncarnation: () => makeIncarnation(++boot, `m${id}b${boot}`),
      }));
    }
  }

  private servePeer(member: number, raw: unknown, send: (reply: unknown) => void): void {
    const engine = this.engines.get(member)!;
    serveRequest(raw, {
      schema: PeerRequestSchema,
      knownTypes: knownTypes(PeerRequestSchema),
      handle: (request) => {
        const keeper = this.keepers.get(member)!;
        if (request.type === 'peer.heartbeat') return keeper.onHeartbeat(request);
        if (request.type === 'peer.stop') return keeper.onStop(request.view);
        if (request.type === 'peer.install') return keeper.onInstall(request.view, request.clock);
        const answer = engine.onPeerRequest(request);
        if (!answer) throw new OccdbError('UNKNOWN_MESSAGE', `a ${engine.strategy} middleware does not take ${request.type}`);
        return answer;
      },
      logger: { warn: () => {}, error: () => {} },
      label: `MIDDLEWARE${member} peer port`,
    }, send);
  }

  private serveClient(member: number, raw: unknown, send: (reply: unknown) => void): void {
    const engine = this.engines.get(member)!;
    serveRequest(raw, {
      schema: ClientRequestSchema,
      knownTypes: knownTypes(ClientRequestSchema),
      handle: (request: ClientRequest) => {
        if (request.type === 'txn.run') return engine.run(request.commands, request.end);
        if (request.type === 'status') return this.status(member);
        throw new OccdbError('UNKNOWN_MESSAGE', `the in-process cluster does not take ${request.type}`);
      },
      logger: { warn: () => {}, error: () => {} },
      label: `MIDDLEWARE${member} client port`,
    }, send);
  }

  /** Runs command text as a file on MIDDLEWARE<id>, block by block, through the production client loop. */
  run(id: number, text: string): Promise<TxnResult[]> {
    const link = this.network.link(`MIDDLEWARE${id}`, (raw, send) => this.serveClient(id, raw, send));
    return runBlocks(link, parseCommandFile(text, 'test'), { timeoutMs: 120_000 });
  }

  async status(id: number): Promise<Status> {
    const engine = this.engines.get(id)!;
    return { role: 'middleware', id, pid: process.pid, ports: {}, uptimeMs: 0, strategy: engine.strategy, ...engine.status() };
  }

  /** Every entry of one replica, tombstones included, as key -> JSON of [version, value]. */
  async scan(databaseId: number): Promise<Map<string, string>> {
    const page = await this.services.get(databaseId)!.store.scan(undefined, Number.MAX_SAFE_INTEGER);
    return new Map(page.entries.map((entry) => [entry.key, JSON.stringify([entry.version, entry.value ?? null])]));
  }

  async divergentKeys(): Promise<string[]> {
    const scans = await Promise.all(this.databaseIds.map((id) => this.scan(id)));
    const keys = new Set(scans.flatMap((scan) => [...scan.keys()]));
    return [...keys].filter((key) => scans.some((scan) => scan.get(key) !== scans[0]!.get(key)));
  }

  async stop(): Promise<void> {
    for (const keeper of this.keepers.values()) keeper.close();
    for (const replicas of this.replicaSets) replicas.close();
    this.network.close();
    await Promise.all([...this.services.values()].map(({ service }) => service.stop()));
  }
}
