// A seeded, deterministic simulation of the optimistic protocol under middleware and database failures.
// It runs the production pure cores unchanged: OccNode (read path included) for transactions,
// and for views the Paxos proposer (ProposerAttempt), the installation (Installation), the
// failure detector and the view arithmetic, driven by the keeper core (view/keeper.ts, the one
// middleware/views.ts carries out) through view-keeper.ts, its shell over the simulated world.
// The databases (replica.ts) run the production Thomas rule, group
// plan, read rules, Paxos acceptor, fencing and recent-commits log. All of it over a fake
// network that delays, reorders and drops messages, in the world both simulators share
// (world.ts). Faults drawn from the seed: middleware crashes (memory lost, restart as a new
// incarnation), pauses (nothing runs; messages and timers wait), partitions (one middleware
// cut off), clean leaves and restarts; database crashes (what is not stored is lost, then down a
// while), pauses and partitions, after which the keepers remove the database, let it join
// (cleared), transfer an in-sync replica into it and promote it. Clients fail over. The history
// every client saw goes to the serializability checker; `invariantViolations` holds what the run
// broke of the others.
import { INSTALL_WAIT_MS } from '../../middleware/install-gate.js';
import { OccNode, type Faults, type OccEffect, type OccEvent } from '../../occ/node.js';
import type { ReadEntry, ReadId } from '../../occ/read-path.js';
import type { Key, ReadSet, TxnId, Write } from '../../transaction/types.js';
import { compareTimestamps, formatTimestamp, isBefore, type Timestamp } from '../../timestamp/timestamp.js';
import type { History, TxnRecord } from '../history/checker.js';
import { randomPlan, type TransactionPlan } from './workload.js';
import { SimulatedWorld, finalStateFaults, type FinalStateFaults, type SimulatedWorldOptions } from './world.js';
import { SimulatedReplica, type FencedBy, type Refusal } from './replica.js';
import { SimViewKeeper, type DbAnswer, type DbRequest, type KeeperHost, type PeerRequest, type SimError } from './view-keeper.js';
import { databasesOf, isMember } from '../../view/changes.js';
import type { KeeperFaults } from '../../view/keeper.js';
import { admits } from '../../database/fencing.js';
import { makeIncarnation, majorityOf, viewsEqual, type Member, type View } from '../../view/types.js';
import { INCARNATION_BEFORE_BOOT } from '../../database/server.js';
import { replicasAllowed } from '../../view/rules.js';
import type { GroupApply, KeyedEntry } from '../../database/thomas.js';
import type { Entry } from '../../protocol/schemas.js';

/**
 * `crash`: memory lost, restart later as a new incarnation; `crash-mid-apply`: the same, on its
 * next decided write after its APPLY reached one database; `pause`: nothing runs, messages and
 * timers wait; `partition`: cut off from everyone; `blip-crash`: what it sends the databases is
 * lost for a moment (a network blip), then it crashes before its resends: decided writes whose
 * APPLYs never left (production's retried batches are not FIFO with later ones).
 */
export type MiddlewareFaultKind = 'crash' | 'crash-mid-apply' | 'pause' | 'partition' | 'blip-crash';

/**
 * `crash`: what is not yet stored is lost (replica.ts `crash`), then it is down (no answers:
 * requests time out) for a while and comes back with its stored, stale state; `pause`: requests
 * wait and are served on resuming, answers wait too; `partition`: messages to and from it are lost.
 */
export type DatabaseFaultKind = 'crash' | 'pause' | 'partition';

export interface SimulationOptions extends SimulatedWorldOptions {
  /** Transactions the clients start at least; they go on until the run has settled after the last fault. */
  transactions: number;
  requestTimeoutMs: number;
  retryCountMax: number;
  faults?: Faults;
  /** How many keys' finished writes each voter remembers; small values force version checks. */
  finishedWritesMax?: number;
  /** Voters wait for their conflicting in-flight transaction instead of voting NO at once (default on). */
  deferVotes?: boolean;
  /** Middlewares in turn leave cleanly (a view without them) and restart (a view with their new life). */
  membershipChurn?: boolean;
  /** Reads wait behind their middleware's own writers still being validated (the core's option; default on). */
  parkReads?: boolean;
  /** Middleware faults drawn from the seed, one at a time: how many, and of which kinds. None by default. */
  middlewareFaults?: { count: number; kinds: readonly MiddlewareFaultKind[] };
  /**
   * Database faults drawn from the seed, one at a time, in the same schedule as the middleware
   * faults (each fault is of a database or of a middleware, with these counts): how many, and of
   * which kinds. None by default. `paired`: each database fault comes with a middleware crash
   * between its APPLYs (crash-mid-apply), timed to hit a mechanism: `crash-while-joining`, once
   * the database is back and joining, the member that would run its transfer (the lowest id)
   * crashes with an APPLY sent to the joining database only; `after-crash-mid-apply`, a
   * middleware crashes with an APPLY sent to one database only, and that database then fails at
   * once (so it alone holds the write).
   */
  databaseFaults?: { count: number; kinds: readonly DatabaseFaultKind[]; paired?: 'crash-while-joining' | 'after-crash-mid-apply' };
  /** The keeper's faults (KeeperCoreOptions.faults; broken on purpose). */
  keeperFaults?: KeeperFaults;
  /** Installations skip recovery (view/installer.ts option; broken on purpose). */
  skipRecovery?: boolean;
  /** The databases do not fence (DatabaseFaults.skipFencing; broken on purpose). */
  skipFencing?: boolean;
  /** How long the run goes on after the last fault healed, in virtual ms (commits must resume meanwhile). */
  settleMs?: number;
}

/** A client transaction's plan, kept across its attempts. */
interface Plan extends TransactionPlan {
  deletes: Key[];
}

/** One middleware process; a crash or a clean exit ends it and a restart makes a new one. */
interface Process {
  id: number;
  /** Counts processes of this id: messages and timers of an ended one find it changed. */
  life: number;
  down: boolean;
  paused: boolean;
  /** What arrived or came due while paused, run in order on resuming. */
  waiting: Array<() => void>;
  partitioned: boolean;
  /** The members and databases that answered its requests since its keeper's last tick (middleware/views.ts counts a link's answers). */
  heardPeers: Set<number>;
  heardDatabases: Set<number>;
  /** Until then, what it sends to the databases is lost. */
  blipUntilMs: number;
  node: OccNode;
  keeper: SimViewKeeper;
  /** It has joined once: clients may use it. */
  joined: boolean;
  leaving: boolean;
  drained: Array<() => void>;
  validating: Array<() => void>;
  /**
   * Crash on the next decided write, after sending its APPLY to one database only: the first of
   * the write's databases, or the last (a joining database when the view has one); false: no.
   */
  crashAtNextApply: false | 'first' | 'last';
  /** Told which database got the one APPLY, as it crashes between its APPLYs. */
  crashedMidApply: ((database: number) => void) | null;
  /**
   * The databases of the view installed or being installed (middleware/replicas.ts `useView`):
   * reads and version checks go to `readable` (its replicas), APPLYs to `targets` (replicas and
   * joining); an APPLY to a database that left is no longer sent (LeftViewError). Every database
   * before the first view.
   */
  readable: number[];
  targets: Set<number>;
  /** The epoch of the view `targets` is of (-1 before the first). */
  targetsEpoch: number;
}

/** A database's state under the faults. */
interface DatabaseProcess {
  down: boolean;
  paused: boolean;
  partitioned: boolean;
  /** Deliveries to it and sends from it that came while paused, run in order on resuming. */
  waiting: Array<() => void>;
}

/** An end of a message: a middleware (its id), a database, or null for a client. */
type Endpoint = number | { database: number } | null;

/** The run, what its replicas got wrong, and what it broke of the other invariants. */
export interface SimulationResult extends FinalStateFaults {
  history: History;
  committed: number;
  aborted: number;
  failed: number;
  unknown: number;
  messages: number;
  virtualMs: number;
  /** Views chosen (the highest epoch). */
  views: number;
  /** Faults injected, each as `kind M<id> at..until`. */
  faultsInjected: string[];
  /** Transactions of removed coordinators found by installations (what recovery completed). */
  membershipChanges: number;
  /** Chosen views that removed a database (each costs it a clear and a full transfer to come back). */
  databaseRemovals: number;
  readsFromMemory: number;
  readsParked: number;
  readsAwaitingWriters: number;
  /** Commits reported after the last fault healed, and how long after it the first came. */
  commitsAfterLastFault: number;
  resumeMs: number | null;
  /** Every invariant broken, described; empty for a correct run. */
  invariantViolations: string[];
}

const EVENTS_MAX = 20_000_000;
/** How long a transaction waits for its middleware to work in a view again (middleware/install-gate.ts). */
const VALIDATING_WAIT_MS = INSTALL_WAIT_MS;
const SETTLE_MS_DEFAULT = 6_000;
/** How much longer than settleMs a run with database faults may go on for the databases to be back (a transfer request lost waits DB_REQUEST_TIMEOUT_MS, 10 s, and some seeds lose several in a row). */
const SETTLE_FOR_DATABASES_MS_MAX = 60_000;

export function simulate(options: SimulationOptions): SimulationResult {
  const world = new SimulatedWorld(options, { eventsMax: EVENTS_MAX, name: 'simulation' }, { views: true, skipFencing: options.skipFencing ?? false });
  const { random, keys, middlewareIds, replicaIds, replicas } = world;
  const violations: string[] = [];
  const settleMs = options.settleMs ?? SETTLE_MS_DEFAULT;
  const where = `simulation seed ${options.seed}`;
  const trace = options.trace;

  // ---- processes ----
  const boots = new Map<number, number>(middlewareIds.map((id) => [id, 0]));
  const processes = new Map<number, Process>();
  /** Every view some proposer saw chosen (or adopted), by epoch: one per epoch. */
  const chosenSeen = new Map<number, View>();
  /** Readings of core counters of processes that ended. */
  let readsFromMemory = 0;
  let readsParked = 0;
  let readsAwaitingWriters = 0;

  const nextIncarnation = (id: number): string => {
    const boot = boots.get(id)! + 1;
    boots.set(id, boot);
    return makeIncarnation(boot, random.int(0, 36 ** 4).toString(36));
  };

  /** Runs `run` in process `id` as it was at `life`: never if it ended, later if it is paused. */
  const inProcess = (id: number, life: number, run: () => void): void => {
    const proc = processes.get(id)!;
    if (proc.life !== life || proc.down) return;
    if (proc.paused) proc.waiting.push(run);
    else run();
  };
  const databaseStates = new Map<number, DatabaseProcess>(replicaIds.map((id) => [id, { down: false, paused: false, partitioned: false, waiting: [] }]));
  const cutOff = (end: Endpoint): boolean => {
    if (end === null) return false;
    if (typeof end === 'number') return processes.get(end)!.partitioned;
    const database = databaseStates.get(end.database)!;
    return database.partitioned || database.down;
  };
  const pausedDatabase = (end: Endpoint): DatabaseProcess | null => {
    if (end === null || typeof end === 'number') return null;
    const database = databaseStates.get(end.database)!;
    return database.paused ? database : null;
  };
  /**
   * A message between two endpoints: lost if either is cut off (a partitioned process, a
   * database that is down) when it leaves or arrives. A paused database sends nothing and takes
   * nothing in until it resumes: both wait.
   */
  const net = (from: Endpoint, to: Endpoint, deliver: () => void): void => {
    const pausedSender = pausedDatabase(from);
    if (pausedSender) {
      pausedSender.waiting.push(() => net(from, to, deliver));
      return;
    }
    if (cutOff(from) || cutOff(to) || (typeof from === 'number' && to !== null && typeof to !== 'number' && processes.get(from)!.blipUntilMs > world.nowMs)) {
      world.send(() => undefined);
      return;
    }
    world.send(() => {
      if (cutOff(from) || cutOff(to)) return;
      const pausedReceiver = pausedDatabase(to);
      if (pausedReceiver) pausedReceiver.waiting.push(() => (cutOff(to) ? undefined : deliver()));
      else deliver();
    });
  };
  /** A request from process `id` (life `life`): the first of answer and timeout runs, in the process. */
  const request = <A>(id: number, life: number, timeoutMs: number, send: (reply: (answer: A) => void) => void, answered: (answer: A) => void, timedOut: () => void): void => {
    let over = false;
    send((answer) => inProcess(id, life, () => {
      if (over) return;
      over = true;
      answered(answer);
    }));
    world.schedule(timeoutMs, () => inProcess(id, life, () => {
      if (over) return;
      over = true;
      timedOut();
    }));
  };
  type Answer<T> = { ok: true; value: T } | { ok: false; error: SimError };
  /** A request from a middleware to a database, over the network both ways. */
  const toDatabase = <T>(id: number, life: number, database: number, timeoutMs: number, serve: (replica: SimulatedReplica, reply: (answer: Answer<T>) => void) => void, answered: (value: T) => void, failed: (error: SimError) => void): void => {
    request<Answer<T>>(id, life, timeoutMs,
      (reply) => net(id, { database }, () => serve(replicas.get(database)!, (answer) => net({ database }, id, () => reply(answer)))),
      (answer) => {
        processes.get(id)!.heardDatabases.add(database);
        if (answer.ok) answered(answer.value);
        else failed(answer.error);
      },
      () => failed({ code: 'TIMEOUT', message: `DATABASE${database} did not answer in ${timeoutMs} ms` }));
  };
  const fencedBy = <T>(member: Member, reply: (answer: Answer<T>) => void): FencedBy => ({ member, refused: (refusal: Refusal) => reply({ ok: false, error: refusal }) });

  /** database/server.ts's requests of the view protocol, at a simulated database. */
  const serveDatabase = (replica: SimulatedReplica, req: DbRequest, reply: (answer: Answer<DbAnswer>) => void): void => {
    const ok = (value: DbAnswer): void => reply({ ok: true, value });
    switch (req.type) {
      case 'db.prepare': return replica.vote({ type: 'prepare', epoch: req.epoch, ballot: req.ballot }, (answer) => ok(answer!));
      case 'db.accept': return replica.vote({ type: 'accept', epoch: req.epoch, ballot: req.ballot, view: req.view }, (answer) => ok(answer!));
      case 'db.chosen': return replica.vote({ type: 'chosen', view: req.view }, (_answer, epoch) => ok({ epoch }));
      case 'db.view': return replica.view((answer) => ok(answer));
      case 'db.scan': return replica.scan(req.after, req.limit, (answer) => ok(answer));
      case 'db.transfer': {
        // Copies, as the wire makes them.
        const entries: KeyedEntry[] = req.entries.map((entry) => ({ ...entry, version: [entry.version[0], entry.version[1]] }) as KeyedEntry);
        const records = req.records.map((record) => ({ ts: [record.ts[0], record.ts[1]] as [number, number], coordinator: { ...record.coordinator }, keys: [...record.keys] }));
        return replica.transfer(fencedBy(req.from, reply), entries, records, (answer) => ok(answer), (refusal) => reply({ ok: false, error: refusal }));
      }
      case 'db.transfer-done': return replica.transferDone(fencedBy(req.from, reply), req.epoch, (answer) => ok(answer), (refusal) => reply({ ok: false, error: refusal }));
      case 'db.commits': return replica.commits(fencedBy(req.from, reply), req.members, (answer) => ok(answer));
      case 'db.read': return replica.read(req.keys, [], 0, (entries) => ok({ entries }), fencedBy(req.from, reply));
      case 'db.recover': return replica.recover(fencedBy(req.from, reply), req.entries, req.drop, () => ok({}));
    }
  };

  /** middleware/server.ts's peer requests of the view protocol, at process `id`. */
  const servePeer = (proc: Process, req: PeerRequest, reply: (answer: Answer<unknown>) => void): void => {
    switch (req.type) {
      case 'peer.heartbeat': return reply({ ok: true, value: proc.keeper.onHeartbeat(req) });
      case 'peer.stop': return proc.keeper.onStop(req.view, (clock) => reply({ ok: true, value: { clock } }), (error) => reply({ ok: false, error }));
      case 'peer.install': {
        const error = proc.keeper.onInstall(req.view, req.clock);
        return reply(error ? { ok: false, error } : { ok: true, value: {} });
      }
    }
  };

  const startProcess = (id: number, life: number): Process => {
    const node = new OccNode({ id, replicas: [...replicaIds], faults: options.faults, finishedWritesMax: options.finishedWritesMax, deferVotes: options.deferVotes, parkReads: options.parkReads });
    const proc = { id, life, down: false, paused: false, waiting: [], partitioned: false, heardPeers: new Set(), heardDatabases: new Set(), blipUntilMs: 0, node, joined: false, leaving: false, drained: [], validating: [], crashAtNextApply: false, crashedMidApply: null, readable: [...replicaIds], targets: new Set(replicaIds), targetsEpoch: -1 } as unknown as Process;
    /** middleware/replicas.ts `useView`. */
    const useView = (view: View): void => {
      proc.readable = [...view.replicas];
      proc.targets = new Set(databasesOf(view));
      proc.targetsEpoch = view.epoch;
    };
    const host: KeeperHost = {
      id,
      databases: [...replicaIds],
      now: () => world.nowMs,
      random: () => random.next(),
      after: (ms, run) => world.schedule(ms, () => inProcess(id, life, run)),
      db: (database, req, timeoutMs, answered, failed) => {
        // The state transfer's requests, traced: they are few, and a stalled transfer is found by them.
        const traced = trace && (req.type === 'db.scan' || req.type === 'db.transfer' || req.type === 'db.transfer-done' || (req.type === 'db.commits' && req.members.length === 0)) ? trace : null;
        traced?.(`${world.nowMs} M${id} -> DATABASE${database} ${req.type}`);
        toDatabase<DbAnswer>(id, life, database, timeoutMs, (replica, reply) => serveDatabase(replica, req, reply), (answer) => {
          traced?.(`${world.nowMs} M${id} <- DATABASE${database} ${req.type} answered`);
          answered(answer);
        }, (error) => {
          traced?.(`${world.nowMs} M${id} <- DATABASE${database} ${req.type} failed: ${error.code}`);
          failed(error);
        });
      },
      peer: (member, req, timeoutMs, answered, failed) => {
        request<Answer<unknown>>(id, life, timeoutMs, (reply) => {
          const target = processes.get(member)!;
          const targetLife = target.life;
          net(id, member, () => inProcess(member, targetLife, () => servePeer(processes.get(member)!, req, (answer) => net(member, id, () => reply(answer)))));
        }, (answer) => {
          proc.heardPeers.add(member);
          if (answer.ok) answered(answer.value);
          else failed(answer.error);
        }, () => failed({ code: 'TIMEOUT', message: `MIDDLEWARE${member} did not answer` }));
      },
      heard: () => {
        const heard = { peers: [...proc.heardPeers], databases: [...proc.heardDatabases] };
        proc.heardPeers.clear();
        proc.heardDatabases.clear();
        return heard;
      },
      stop: (view, done) => {
        // Reads and APPLYs go to the new view's databases from now on (middleware/views.ts).
        useView(view);
        dispatch(proc, { type: 'view-stop', databases: databasesOf(view) });
        if (proc.node.coordinatingCount > 0) proc.drained.push(() => done(proc.node.clock.value));
        else done(proc.node.clock.value);
      },
      install: (view, clock, replaced) => {
        useView(view);
        dispatch(proc, { type: 'view-install', epoch: view.epoch, members: view.members.map((member) => member.id), clock, replaced, databases: databasesOf(view) });
        noteInstall(view);
        if (!proc.node.stopped) {
          const waiters = proc.validating;
          proc.validating = [];
          for (const waiter of waiters) waiter();
        }
      },
      removed: () => dispatch(proc, { type: 'removed' }),
      clockValue: () => proc.node.clock.value,
      nextIncarnation: () => nextIncarnation(id),
      skipRecovery: options.skipRecovery ?? false,
      manageDatabases: true,
      ...(options.keeperFaults ? { faults: options.keeperFaults } : {}),
      sawChosen: (view) => {
        const known = chosenSeen.get(view.epoch);
        if (known && !viewsEqual(known, view)) violations.push(`1: two views chosen for epoch ${view.epoch}: ${describeView(known)} and ${describeView(view)}`);
        if (!known) chosenSeen.set(view.epoch, view);
      },
      spinning: (detail) => {
        throw new Error(`${where}: ${detail}`);
      },
      log: (line) => trace?.(`${world.nowMs} M${id} ${line}`),
    };
    proc.keeper = new SimViewKeeper(host);
    processes.set(id, proc);
    proc.keeper.join(() => {
      proc.joined = true;
    });
    return proc;
  };

  const endProcess = (proc: Process): void => {
    readsFromMemory += proc.node.readsFromMemory;
    readsParked += proc.node.readsParked;
    readsAwaitingWriters += proc.node.readsAwaitingWriters;
    proc.down = true;
    proc.life += 1;
    proc.keeper.close();
    // Its clients' connections close: a transaction that asked to commit has an unknown outcome.
    for (const [txid, attempt] of attempts) {
      if (attempt.middleware !== proc.id) continue;
      // Decided, its timestamp is known (the checker orders versions by it); undecided, it never landed.
      const ts = appliedTs.get(txid);
      if (attempt.commitRequested && ts) attempt.record.commitTs = ts;
      endAttempt(txid, attempt.commitRequested ? 'unknown' : 'aborted', true);
    }
  };
  const restart = (id: number): void => {
    const old = processes.get(id)!;
    if (!old.down) endProcess(old);
    startProcess(id, old.life + 1);
  };

  // ---- the OCC core's effects (middleware/coordinator.ts) over the fake network ----
  /** `${txid}|${voter}` -> the life of the coordinator awaiting that vote. */
  const votesUnanswered = new Map<string, number>();
  /** For invariant 5: every decided transaction's timestamp. */
  const decidedTs = new Map<string, TxnId>();
  /** For invariant 7: when and by which life each transaction was decided. */
  const decided = new Map<TxnId, { atMs: number; life: Member }>();
  const reportedCommits: Array<{ txid: TxnId; life: Member; decidedAtMs: number }> = [];
  /** Timestamp -> writes of every transaction that sent APPLYs, for the final state. */
  const appliedWrites = new Map<string, { txid: TxnId; writes: Write[] }>();
  const appliedTs = new Map<TxnId, Timestamp>();
  /** Epochs some member installed. */
  const installedEpochs = new Set<number>();
  /**
   * Invariant 2b, as the first member installs epoch `view.epoch`: every write acknowledged to a
   * client so far is stored on every replica of the view. (A joining database may not hold it
   * yet: the transfer from a replica brings it; it is checked once promoted, and at the end.)
   * And what an installation guarantees (docs/design.md, "Installing a view"): every write that
   * landed on a database of the view (since that database was last cleared) is on every replica
   * of it, acknowledged or not: the members finished their decided writes before they stopped,
   * and recovery completed the removed coordinators' from any database of the view.
   */
  const noteInstall = (view: View): void => {
    // Only the newest: a member that was paused may install a view that a newer one has
    // superseded meanwhile, when writes of the newer view are under way.
    if (installedEpochs.has(view.epoch) || [...installedEpochs].some((epoch) => epoch > view.epoch)) return;
    installedEpochs.add(view.epoch);
    for (const database of view.replicas) {
      const missing = missingAcknowledged(replicas.get(database)!, transactions);
      if (missing) violations.push(`2b: at the installation of view ${describeView(view)} at ${world.nowMs} ms, DATABASE${database}, a replica, lacks ${missing}`);
    }
    const landedHere = new Map<string, { ts: Timestamp; at: number }>();
    for (const database of databasesOf(view)) {
      const replica = replicas.get(database)!;
      const lastClearMs = replica.clearedAtMs.length > 0 ? replica.clearedAtMs[replica.clearedAtMs.length - 1]! : -1;
      for (const written of replica.writtenApplies) if (written.atMs > lastClearMs) landedHere.set(formatTimestamp(written.ts), { ts: written.ts, at: database });
    }
    for (const database of view.replicas) {
      const stored = replicas.get(database)!.stored();
      for (const [key, { ts, at }] of landedHere) {
        const write = appliedWrites.get(key)!.writes.find((one) => compareTimestamps(stored.get(one.key)?.version ?? [0, 0], ts) < 0);
        if (!write) continue;
        violations.push(`2b: at the installation of view ${describeView(view)} at ${world.nowMs} ms, DATABASE${database}, a replica, lacks the write of ${write.key} at ${key} (${appliedWrites.get(key)!.txid}) that landed on DATABASE${at}`);
        break;
      }
    }
  };

  const dispatch = (proc: Process, event: OccEvent): void => {
    const effects = proc.node.handle(event);
    trace?.(`${world.nowMs} M${proc.id} <- ${JSON.stringify(event)} -> ${JSON.stringify(effects)}`);
    const life = proc.life;
    for (const effect of effects) {
      // A crash part-way (crash-mid-apply) ends the process: the rest of its effects never happen.
      if (proc.down || proc.life !== life) return;
      execute(proc, effect);
    }
    if (proc.drained.length > 0 && proc.node.coordinatingCount === 0) {
      const waiters = proc.drained;
      proc.drained = [];
      for (const waiter of waiters) waiter();
    }
  };

  const onFenced = (proc: Process, error: SimError): boolean => {
    if (error.code !== 'FENCED') return false;
    proc.keeper.onFenced(error.message);
    return true;
  };

  /** `ts`: the decided transaction's timestamp (a read-only one's is known only when it commits). */
  const noteDecided = (proc: Process, txid: TxnId, ts: Timestamp | null): void => {
    if (ts !== null) {
      const key = formatTimestamp(ts);
      const other = decidedTs.get(key);
      if (other !== undefined && other !== txid) violations.push(`5: ${other} and ${txid} both have timestamp ${key}`);
      decidedTs.set(key, txid);
    }
    if (!decided.has(txid)) decided.set(txid, { atMs: world.nowMs, life: { ...proc.keeper.self } });
  };

  const execute = (proc: Process, effect: OccEffect): void => {
    const { id, life } = proc;
    const self = (): Member => ({ ...proc.keeper.self });
    switch (effect.type) {
      case 'send-validate':
        for (const voter of effect.to) {
          const key = `${effect.txid}|${voter}`;
          votesUnanswered.set(key, life);
          const target = processes.get(voter)!;
          const targetLife = target.life;
          net(id, voter, () => inProcess(voter, targetLife, () => dispatch(processes.get(voter)!, { type: 'vote-requested', from: id, epoch: effect.epoch, txid: effect.txid, ts: effect.ts, readSet: effect.readSet, writeKeys: effect.writeKeys, nowMs: world.nowMs })));
          world.schedule(options.requestTimeoutMs, () => inProcess(id, life, () => {
            if (votesUnanswered.get(key) !== life) return;
            votesUnanswered.delete(key);
            dispatch(proc, { type: 'vote-received', txid: effect.txid, voter, vote: 'timeout' });
          }));
        }
        return;
      case 'vote': {
        // Possibly long after the request: a deferred vote.
        const key = `${effect.txid}|${id}`;
        const coordinator = effect.to;
        net(id, coordinator, () => {
          const askedBy = votesUnanswered.get(key);
          if (askedBy === undefined) return;
          inProcess(coordinator, askedBy, () => {
            if (!votesUnanswered.delete(key)) return;
            processes.get(coordinator)!.heardPeers.add(id);
            dispatch(processes.get(coordinator)!, { type: 'vote-received', txid: effect.txid, voter: id, vote: effect.vote, clock: effect.clock });
          });
        });
        return;
      }
      case 'read-replica': {
        const database = random.pick(proc.readable);
        const member = self();
        toDatabase<Entry[]>(id, life, database, options.requestTimeoutMs,
          (replica, reply) => replica.read(effect.keys, effect.atLeast, effect.waitMs, (entries) => reply({ ok: true, value: entries }), fencedBy(member, reply)),
          (entries) => dispatch(proc, { type: 'read-answered', readId: effect.readId, entries }),
          (error) => {
            dispatch(proc, { type: 'read-failed', readId: effect.readId });
            onFenced(proc, error);
            readFailed(effect.readId);
          });
        return;
      }
      case 'read-done': {
        const waiting = readsWaiting.get(effect.readId);
        readsWaiting.delete(effect.readId);
        waiting?.done(effect.entries);
        return;
      }
      case 'read-versions': {
        const database = random.pick(proc.readable);
        const member = self();
        toDatabase<Timestamp[]>(id, life, database, options.requestTimeoutMs,
          (replica, reply) => replica.versions(effect.keys, (versions) => reply({ ok: true, value: versions }), fencedBy(member, reply)),
          (versions) => dispatch(proc, { type: 'versions-read', txid: effect.txid, versions }),
          (error) => {
            onFenced(proc, error);
            dispatch(proc, { type: 'versions-failed', txid: effect.txid });
          });
        return;
      }
      case 'apply': {
        noteDecided(proc, effect.txid, effect.ts);
        appliedWrites.set(formatTimestamp(effect.ts), { txid: effect.txid, writes: effect.writes });
        appliedTs.set(effect.txid, effect.ts);
        const deciding = self();
        if (proc.crashAtNextApply) {
          // A coordinator that dies between its APPLYs to different databases.
          const only = proc.crashAtNextApply === 'first' ? effect.replicas[0]! : effect.replicas[effect.replicas.length - 1]!;
          proc.crashAtNextApply = false;
          trace?.(`${world.nowMs} M${id} CRASHES between its APPLYs of ${formatTimestamp(effect.ts)}: sent to DATABASE${only} only`);
          sendApply(proc, life, deciding, only, effect.txid, effect.ts, effect.writes);
          const crashed = proc.crashedMidApply;
          crashNow(proc);
          crashed?.(only);
          return;
        }
        for (const replica of effect.replicas) sendApply(proc, life, deciding, replica, effect.txid, effect.ts, effect.writes);
        return;
      }
      case 'confirm': {
        noteDecided(proc, effect.txid, null);
        // ReplicaSet.confirm: a majority of the databases still admit this life.
        const member = self();
        const needed = majorityOf(replicaIds.length);
        let answers = 0;
        let failures = 0;
        let settled = false;
        for (const database of replicaIds) {
          toDatabase<null>(id, life, database, options.requestTimeoutMs,
            (replica, reply) => replica.confirm(fencedBy(member, reply), effect.ts, () => reply({ ok: true, value: null })),
            () => {
              answers += 1;
              if (settled || answers < needed) return;
              settled = true;
              dispatch(proc, { type: 'confirmed', txid: effect.txid });
            },
            (error) => {
              failures += 1;
              if (settled) return;
              if (error.code === 'FENCED' || replicaIds.length - failures < needed) {
                settled = true;
                onFenced(proc, error);
                dispatch(proc, { type: 'confirm-failed', txid: effect.txid });
              }
            });
        }
        return;
      }
      case 'committed': {
        noteDecided(proc, effect.txid, effect.ts);
        const at = decided.get(effect.txid);
        reportedCommits.push({ txid: effect.txid, life: at?.life ?? self(), decidedAtMs: at?.atMs ?? world.nowMs });
        return finishAttempt(effect.txid, 'committed', effect.ts);
      }
      case 'aborted':
        return finishAttempt(effect.txid, effect.reason === 'removed' ? 'moved' : 'aborted', effect.ts);
      case 'outcome-unknown':
        return finishAttempt(effect.txid, 'unknown', effect.ts);
    }
  };

  /**
   * ReplicaSet.apply: resent until the database acknowledges, in the deciding life's name with
   * this life's watermark; never by a later life (an earlier life's APPLYs are dropped), and
   * not after FENCED (the life is over).
   */
  const sendApply = (proc: Process, life: number, deciding: Member, database: number, txid: TxnId, ts: Timestamp, writes: Write[]): void => {
    if (proc.life !== life || proc.keeper.self.incarnation !== deciding.incarnation) return;
    // LeftViewError: the database left the view; the core no longer awaits it.
    if (!proc.targets.has(database)) return;
    const watermark = proc.node.unfinishedCounterMin() - 1;
    toDatabase<number[]>(proc.id, life, database, options.requestTimeoutMs,
      (replica, reply) => replica.apply([{ ts, writes }], (written) => reply({ ok: true, value: written }), { ...fencedBy(deciding, reply), watermark, ...(proc.targetsEpoch >= 0 ? { viewEpoch: proc.targetsEpoch } : {}) }),
      () => dispatch(proc, { type: 'replica-acked', txid, replica: database }),
      (error) => {
        if (!onFenced(proc, error)) sendApply(proc, life, deciding, database, txid, ts, writes);
      });
  };

  // ---- clients ----
  interface Attempt {
    txid: TxnId;
    record: TxnRecord;
    client: number;
    middleware: number;
    retry: number;
    plan: Plan;
    commitRequested: boolean;
    ts?: Timestamp;
  }
  const transactions: TxnRecord[] = [];
  const attempts = new Map<TxnId, Attempt>();
  const readsWaiting = new Map<ReadId, { txid: TxnId; done: (entries: ReadEntry[]) => void }>();
  let started = 0;
  let committed = 0;
  let aborted = 0;
  let unknown = 0;
  let failed = 0;
  let nextTxid = 1;
  let nextValue = 1;
  let nextReadId = 1;
  let lastFaultEndMs = 0;
  let faultsPending = 0;
  /** The clients stopped and heartbeats too: what is under way finishes. */
  let quiescent = false;
  const faultsInjected: string[] = [];

  /** Every running middleware installed the newest view some member saw chosen, and every database is a replica of it: those that failed are back. */
  const databasesBack = (): boolean => {
    const newest = chosenSeen.get(Math.max(...chosenSeen.keys()));
    if (newest === undefined || newest.replicas.length !== replicaIds.length) return false;
    return [...processes.values()].every((proc) => proc.down || proc.keeper.installedEpoch === newest.epoch);
  };
  /**
   * After the last fault, the run goes on for settleMs, and then until every database is back
   * (removal, joining, transfer and promotion take a while, longer when a request of the
   * transfer was lost and waits out its timeout), but no longer than
   * SETTLE_FOR_DATABASES_MS_MAX: a database still out then is a violation of 9.
   */
  const clientsMayStop = (): boolean => {
    if (started < options.transactions || faultsPending > 0 || world.nowMs < lastFaultEndMs + settleMs) return false;
    // Not only after database faults: a middleware may remove a database it could not reach.
    return databasesBack() || world.nowMs >= lastFaultEndMs + settleMs + SETTLE_FOR_DATABASES_MS_MAX;
  };

  /** A middleware a client may use: running, joined, not leaving; the current one if it still is. */
  const usable = (id: number): boolean => {
    const proc = processes.get(id)!;
    // middleware/server.ts: without a majority of the databases answering, NO_QUORUM at once
    // (not once the run is quiescent: heartbeats, and so the databases' answers, have stopped).
    return !proc.down && proc.joined && !proc.leaving && (quiescent || proc.keeper.hasDatabaseQuorum());
  };
  const pickMiddleware = (current: number): number => {
    if (usable(current)) return current;
    const candidates = middlewareIds.filter(usable);
    return candidates.length > 0 ? random.pick(candidates) : current;
  };

  /** Like the real client: waits while the middleware validates nothing (middleware/install-gate.ts), up to VALIDATING_WAIT_MS. */
  const whenValidating = (proc: Process, life: number, then: (ok: boolean) => void): void => {
    if (!proc.node.stopped) return then(true);
    let over = false;
    proc.validating.push(() => {
      if (over) return;
      over = true;
      then(true);
    });
    world.schedule(VALIDATING_WAIT_MS, () => inProcess(proc.id, life, () => {
      if (over) return;
      over = true;
      then(false);
    }));
  };

  const startTransaction = (client: number, middleware: number, retry: number, plan?: Plan): void => {
    middleware = pickMiddleware(middleware);
    const proc = processes.get(middleware)!;
    if (!usable(middleware)) {
      // Nobody to talk to right now: try again shortly.
      world.schedule(50, () => startTransaction(client, middleware, retry, plan));
      return;
    }
    if (!plan) {
      if (clientsMayStop()) return;
      started += 1;
      const { readKeys, writeKeys, blindKeys } = randomPlan(random, keys);
      // No deletes: a read of "no entry" could not name its writer, and the history checker
      // relies on every read naming one. Deletes are covered by the database and e2e tests.
      plan = { readKeys, writeKeys, blindKeys, deletes: [] };
    }
    const fixedPlan = plan;
    const txid = `t${nextTxid++}`;
    const record: TxnRecord = { id: txid, outcome: 'unknown', reads: [], writes: [], startMs: world.nowMs };
    transactions.push(record);
    const attempt: Attempt = { txid, record, client, middleware, retry, plan: fixedPlan, commitRequested: false };
    attempts.set(txid, attempt);
    const life = proc.life;
    inProcess(middleware, life, () => whenValidating(proc, life, (ok) => {
      if (!attempts.has(txid)) return;
      if (!ok) return endAttempt(txid, 'aborted', true);
      const readId = nextReadId++;
      readsWaiting.set(readId, {
        txid,
        done: (entries) => {
          const readSet: Array<readonly [Key, Timestamp]> = [];
          fixedPlan.readKeys.forEach((key, index) => {
            const entry = entries[index]!;
            readSet.push([key, entry.version]);
            record.reads.push({ key, value: entry.value === undefined ? null : (entry.value as number) });
          });
          const writes: Write[] = [];
          for (const key of [...fixedPlan.writeKeys, ...fixedPlan.blindKeys]) {
            const value = nextValue++;
            writes.push({ key, value });
            record.writes.push({ key, value });
          }
          // Coordinator.commit: a leaving middleware stamps nothing; a stopped one is waited for.
          if (proc.leaving) return endAttempt(txid, 'aborted', true);
          whenValidating(proc, life, (validating) => {
            if (!attempts.has(txid)) return;
            if (!validating) return endAttempt(txid, 'aborted', true);
            attempt.commitRequested = true;
            dispatch(proc, { type: 'commit-requested', txid, readSet: readSet as ReadSet, writes });
          });
        },
      });
      dispatch(proc, { type: 'read-requested', readId, keys: fixedPlan.readKeys, nowMs: world.nowMs });
    }));
  };

  const readFailed = (readId: ReadId): void => {
    const waiting = readsWaiting.get(readId);
    readsWaiting.delete(readId);
    // No replica answered (NODE_UNAVAILABLE): the client tries another middleware.
    if (waiting) endAttempt(waiting.txid, 'aborted', true);
  };

  const finishAttempt = (txid: TxnId, outcome: 'committed' | 'aborted' | 'moved' | 'unknown', ts: Timestamp): void => {
    const attempt = attempts.get(txid);
    if (!attempt) return;
    attempt.ts = ts;
    if (outcome === 'committed' || outcome === 'unknown') attempt.record.commitTs = ts;
    endAttempt(txid, outcome === 'moved' ? 'aborted' : outcome, outcome !== 'committed' && outcome !== 'aborted');
  };

  /** The attempt's outcome as its client sees it; `move`: the client tries another middleware next. */
  const endAttempt = (txid: TxnId, outcome: 'committed' | 'aborted' | 'unknown', move: boolean): void => {
    const attempt = attempts.get(txid)!;
    attempts.delete(txid);
    attempt.record.outcome = outcome;
    attempt.record.endMs = world.nowMs;
    const { client, plan, retry } = attempt;
    let middleware = attempt.middleware;
    if (move) {
      const others = middlewareIds.filter((id) => id !== middleware && usable(id));
      if (others.length > 0) middleware = random.pick(others);
    }
    if (outcome === 'committed') {
      committed += 1;
      world.schedule(random.int(0, 3), () => startTransaction(client, middleware, 0));
    } else if (outcome === 'unknown') {
      unknown += 1;
      world.schedule(random.int(0, 3), () => startTransaction(client, middleware, 0));
    } else {
      aborted += 1;
      if (retry < options.retryCountMax) {
        world.schedule(random.int(0, Math.min(200, 2 * 2 ** Math.min(retry, 8))), () => startTransaction(client, middleware, retry + 1, plan));
      } else {
        failed += 1;
        world.schedule(random.int(0, 3), () => startTransaction(client, middleware, 0));
      }
    }
  };

  // ---- faults, one middleware at a time ----
  const crashNow = (proc: Process): void => {
    if (proc.down) return;
    trace?.(`${world.nowMs} M${proc.id} CRASH`);
    endProcess(proc);
  };
  /**
   * A middleware fault of `kind` on M`target`; `healed` runs once it is over. `crashAt`: which
   * database a crash-mid-apply's one APPLY goes to.
   */
  const injectMiddlewareFault = (kind: MiddlewareFaultKind, target: number, healed: () => void, crashAt: 'first' | 'last' = 'first', crashedMidApply: ((database: number) => void) | null = null): void => {
    // Pauses and partitions from shorter than detection (1 s) to several times it.
    const durationMs = kind === 'pause' ? random.int(200, 3_000) : kind === 'partition' ? random.int(300, 3_500) : random.int(100, 1_500);
    const proc = processes.get(target)!;
    const startMs = world.nowMs;
    trace?.(`${world.nowMs} FAULT ${kind} M${target} for ${durationMs} ms`);
    const over = (): void => {
      faultsInjected.push(`${kind} M${target} ${startMs.toFixed(0)}..${world.nowMs.toFixed(0)}`);
      healed();
    };
    switch (kind) {
      case 'crash':
        crashNow(proc);
        world.schedule(durationMs, () => {
          restart(target);
          over();
        });
        return;
      case 'crash-mid-apply':
        // Crashes on its next decided write, between its APPLYs; or after the duration anyway.
        proc.crashAtNextApply = crashAt;
        proc.crashedMidApply = crashedMidApply;
        world.schedule(durationMs, () => {
          crashNow(processes.get(target)!);
          world.schedule(random.int(100, 1_000), () => {
            restart(target);
            over();
          });
        });
        return;
      case 'blip-crash':
        proc.blipUntilMs = world.nowMs + random.int(10, 60);
        world.schedule(random.int(60, 180), () => {
          crashNow(processes.get(target)!);
          world.schedule(durationMs, () => {
            restart(target);
            over();
          });
        });
        return;
      case 'pause':
        proc.paused = true;
        world.schedule(durationMs, () => {
          proc.paused = false;
          // What arrived and came due meanwhile runs now, in order (more may arrive as it runs).
          while (proc.waiting.length > 0 && !proc.paused && !proc.down) proc.waiting.shift()!();
          proc.waiting = [];
          over();
        });
        return;
      case 'partition':
        proc.partitioned = true;
        world.schedule(durationMs, () => {
          proc.partitioned = false;
          over();
        });
        return;
    }
  };

  /** A database fault of `kind` on DATABASE`target`; `healed` runs once it is over (the database then has to come back). */
  const injectDatabaseFault = (kind: DatabaseFaultKind, target: number, healed: () => void, durationMsMin = 200): void => {
    // From shorter than detection (1 s) to several times it.
    const durationMs = random.int(durationMsMin, 4_000);
    const database = databaseStates.get(target)!;
    const startMs = world.nowMs;
    trace?.(`${world.nowMs} FAULT ${kind} DATABASE${target} for ${durationMs} ms`);
    const over = (): void => {
      faultsInjected.push(`${kind} D${target} ${startMs.toFixed(0)}..${world.nowMs.toFixed(0)}`);
      trace?.(`${world.nowMs} HEALED ${kind} DATABASE${target}`);
      healed();
    };
    switch (kind) {
      case 'crash':
        replicas.get(target)!.crash();
        database.down = true;
        world.schedule(durationMs, () => {
          database.down = false;
          over();
        });
        return;
      case 'pause':
        // Requests wait, and so do answers; its own writes under way finish (the disk is not paused).
        database.paused = true;
        world.schedule(durationMs, () => {
          database.paused = false;
          // What arrived and was answered meanwhile goes on now, in order (more may arrive as it runs).
          while (database.waiting.length > 0 && !database.paused) database.waiting.shift()!();
          database.waiting = [];
          over();
        });
        return;
      case 'partition':
        database.partitioned = true;
        world.schedule(durationMs, () => {
          database.partitioned = false;
          over();
        });
        return;
    }
  };

  /**
   * The faults, one at a time: each starts a while after the one before healed. Middleware and
   * database faults are mixed in one schedule, in an order drawn from the seed.
   */
  const scheduleFaults = (): void => {
    const middlewarePlan = options.middlewareFaults;
    const databasePlan = options.databaseFaults;
    const middlewareCount = middlewarePlan?.count ?? 0;
    const databaseCount = databasePlan?.count ?? 0;
    const total = middlewareCount + databaseCount;
    if (total === 0) return;
    faultsPending = total;
    const slots: Array<'middleware' | 'database'> = [...Array.from({ length: middlewareCount }, () => 'middleware' as const), ...Array.from({ length: databaseCount }, () => 'database' as const)];
    if (databaseCount > 0) {
      for (let index = slots.length - 1; index > 0; index--) {
        const other = random.int(0, index);
        [slots[index], slots[other]] = [slots[other]!, slots[index]!];
      }
    }
    const inject = (index: number): void => {
      const healed = (): void => {
        lastFaultEndMs = Math.max(lastFaultEndMs, world.nowMs);
        faultsPending -= 1;
        if (index + 1 < total) world.schedule(random.int(200, 1_500), () => inject(index + 1));
      };
      if (slots[index] === 'middleware') return injectMiddlewareFault(random.pick(middlewarePlan!.kinds), random.pick(middlewareIds), healed);
      const kind = random.pick(databasePlan!.kinds);
      const paired = databasePlan!.paired;
      if (paired === 'after-crash-mid-apply') {
        // Two faults, both healed before the next starts: the middleware's crash and restart, and the database's.
        let over = 0;
        const both = (): void => {
          if (++over === 2) healed();
        };
        let databaseFailed = false;
        const databaseFails = (database: number): void => {
          if (databaseFailed) return;
          databaseFailed = true;
          // Once its one APPLY is likely written there (a message takes up to delayMsMax, a sync up to 5 ms).
          world.schedule(random.int(options.delayMsMax + 6, options.delayMsMax + 40), () => injectDatabaseFault(kind, database, both, 1_500));
        };
        const target = random.pick(middlewareIds);
        return injectMiddlewareFault('crash-mid-apply', target, () => {
          // It crashed at the end of its duration instead, with no APPLY under way: some database fails anyway.
          databaseFails(random.pick(replicaIds));
          both();
        }, 'first', databaseFails);
      }
      const database = random.pick(replicaIds);
      injectDatabaseFault(kind, database, paired !== 'crash-while-joining' ? healed : () => {
        // Once the database is joining in an installed view, the member that runs its transfer crashes between its APPLYs.
        const startedMs = world.nowMs;
        const watch = (): void => {
          const joiningIn = [...processes.values()].map((proc) => (proc.down ? null : proc.keeper.installed)).find((view) => view?.joining.includes(database));
          if (!joiningIn && world.nowMs - startedMs < 10_000) return world.schedule(5, watch);
          const lowest = joiningIn ? Math.min(...joiningIn.members.map((member) => member.id)) : random.pick(middlewareIds);
          injectMiddlewareFault('crash-mid-apply', lowest, healed, 'last');
        };
        watch();
      });
    };
    world.schedule(500 + random.int(0, 500), () => inject(0));
  };

  // ---- clean leaves and restarts in turn (the churn variant) ----
  let membershipChanges = 0;
  if (options.membershipChurn && options.middlewares >= 3) {
    const cycles = 4;
    let cycle = 0;
    faultsPending += 1;
    const startCycle = (): void => {
      if (cycle >= cycles) {
        lastFaultEndMs = Math.max(lastFaultEndMs, world.nowMs);
        faultsPending -= 1;
        return;
      }
      const leaver = processes.get((cycle % options.middlewares) + 1)!;
      cycle += 1;
      if (leaver.down || !leaver.joined) return world.schedule(100, startCycle);
      // middleware/server.ts: stop taking transactions, let running ones finish, then leave.
      leaver.leaving = true;
      const life = leaver.life;
      const drain = (): void => inProcess(leaver.id, life, () => {
        if (leaver.node.coordinatingCount > 0 || [...attempts.values()].some((attempt) => attempt.middleware === leaver.id)) return world.schedule(5, drain);
        leaver.keeper.leave(() => {
          membershipChanges += 1;
          endProcess(leaver);
          world.schedule(random.int(20, 200), () => {
            restart(leaver.id);
            membershipChanges += 1;
            world.schedule(random.int(300, 800), startCycle);
          });
        });
      });
      drain();
    };
    world.schedule(800, startCycle);
  }

  // ---- run ----
  for (const id of middlewareIds) startProcess(id, 0);
  scheduleFaults();
  world.startClients((client, middleware) => startTransaction(client, middleware, 0));
  const clientsDone = (): boolean => clientsMayStop() && attempts.size === 0;
  world.run(clientsDone);
  const endMs = world.nowMs;
  // Quiescence: no more heartbeats; what is under way (APPLYs, view changes) finishes.
  for (const proc of processes.values()) proc.keeper.stopTicking();
  quiescent = true;
  world.run();

  // ---- checks after quiescence ----
  for (const proc of processes.values()) {
    readsFromMemory += proc.node.readsFromMemory;
    readsParked += proc.node.readsParked;
    readsAwaitingWriters += proc.node.readsAwaitingWriters;
  }
  const history: History = { transactions, initial: Object.fromEntries(keys.map((key) => [key, null])) };
  const chosen = chosenViews(replicas, chosenSeen, violations);
  const finalEpoch = Math.max(...chosen.keys());
  const finalView = chosen.get(finalEpoch)!;
  checkFencing(replicas, chosen, violations);
  const times = chosenTimes(replicas);
  checkExcludedCommits(reportedCommits, chosen, times, violations);
  checkReplicaRule(replicas, chosen, times, violations);
  checkViewKnownBeforeApplies(replicas, chosen, violations);
  checkRealTimeStamps(transactions, violations);
  // 9: every middleware is a member of the final view, installed it, and validates.
  for (const proc of processes.values()) {
    if (proc.down) violations.push(`9: M${proc.id} is down at the end`);
    else if (!isMember(finalView, proc.keeper.self)) violations.push(`9: M${proc.id} (${proc.keeper.self.incarnation}) is not a member of the final view ${describeView(finalView)}`);
    else if (proc.keeper.installedEpoch !== finalEpoch) violations.push(`9: M${proc.id} installed view ${proc.keeper.installedEpoch}, not the final ${finalEpoch}`);
    else if (proc.node.stopped) violations.push(`9: M${proc.id} is left stopped`);
  }
  const commitsAfter = transactions.filter((record) => record.outcome === 'committed' && record.endMs! > lastFaultEndMs);
  const resumeMs = commitsAfter.length > 0 ? Math.min(...commitsAfter.map((record) => record.endMs!)) - lastFaultEndMs : null;
  if (faultsInjected.length > 0 && commitsAfter.length === 0) violations.push(`9: no commit after the last fault healed at ${lastFaultEndMs} ms`);
  // 9: every database is back in sync: a replica of the final view, none left joining.
  const outOfSync = replicaIds.filter((id) => !finalView.replicas.includes(id));
  if (outOfSync.length > 0) violations.push(`9: the final view ${describeView(finalView)} does not have ${outOfSync.map((id) => `DATABASE${id}`).join(', ')} back as a replica`);
  // 2b at the end: every acknowledged write is on every replica of the final view.
  for (const database of finalView.replicas) {
    const missing = missingAcknowledged(replicas.get(database)!, transactions);
    if (missing) violations.push(`2b: at the end, DATABASE${database}, a replica of the final view ${describeView(finalView)}, lacks ${missing}`);
  }
  // 6: what landed at some database, and what clients were told committed. A transaction is
  // committed when an APPLY of it landed on a database and was not erased there by a later clear
  // (a returning database is cleared: a write it alone held is gone, and recovery, which could
  // not read it, forgot its transaction), when a recovery found its record (and copied it
  // everywhere), or when its client was told so (it was on every database of its view, and a
  // transfer carries it on where a clear erased it since).
  const landed = new Map<string, GroupApply>();
  const writtenAnywhere = new Set<string>();
  const commit = (key: string): void => {
    const applied = appliedWrites.get(key);
    if (applied) landed.set(key, { ts: appliedTs.get(applied.txid)!, writes: applied.writes });
  };
  for (const replica of replicas.values()) {
    const lastClearMs = replica.clearedAtMs.length > 0 ? replica.clearedAtMs[replica.clearedAtMs.length - 1]! : -1;
    for (const written of replica.writtenApplies) {
      const key = formatTimestamp(written.ts);
      writtenAnywhere.add(key);
      if (!appliedWrites.has(key)) violations.push(`6: DATABASE${replica.id} wrote ${key}, which no coordinator decided`);
      else if (written.atMs > lastClearMs) commit(key);
    }
    for (const key of replica.recoveredTs) commit(key);
  }
  for (const record of transactions) {
    if (record.outcome !== 'committed' || record.writes.length === 0) continue;
    const key = formatTimestamp(record.commitTs!);
    if (!writtenAnywhere.has(key)) violations.push(`6: ${record.id} was acknowledged committed at ${key} but no database wrote it`);
    else commit(key);
  }
  // One whose client never learned its outcome and that is not committed as above was aborted
  // (recovery forgot it), so a read of its write is a read of an aborted transaction.
  for (const record of transactions) {
    if (record.outcome === 'unknown' && !(record.commitTs && landed.has(formatTimestamp(record.commitTs)))) record.outcome = 'aborted';
  }
  // 6: the final view's replicas are identical; a database outside them may be stale (9 says so).
  const stateFaults = finalStateFaults(keys, finalView.replicas.map((id) => replicas.get(id)!.stored()), [...landed.values()]);
  return {
    history,
    committed,
    aborted,
    failed,
    unknown,
    messages: world.messages,
    virtualMs: endMs,
    views: finalEpoch,
    faultsInjected,
    membershipChanges,
    databaseRemovals: [...chosen.keys()].filter((epoch) => {
      const previous = chosen.get(epoch - 1);
      return previous !== undefined && databasesOf(previous).some((id) => !databasesOf(chosen.get(epoch)!).includes(id));
    }).length,
    readsFromMemory,
    readsParked,
    readsAwaitingWriters,
    commitsAfterLastFault: commitsAfter.length,
    resumeMs,
    invariantViolations: violations,
    ...stateFaults,
  };
}

function describeView(view: View): string {
  return `${view.epoch}{${view.members.map((member) => `${member.id}/${member.incarnation}`).join(',')}; replicas ${view.replicas.join(',')}${view.joining.length > 0 ? `; joining ${view.joining.join(',')}` : ''}}`;
}

/** Invariant 2b at one database: the first acknowledged write whose keys it does not hold at that version or a newer one, described; null if none. */
function missingAcknowledged(replica: SimulatedReplica, transactions: readonly TxnRecord[]): string | null {
  const stored = replica.stored();
  for (const record of transactions) {
    if (record.outcome !== 'committed' || record.writes.length === 0) continue;
    for (const write of record.writes) {
      const entry = stored.get(write.key);
      if (!entry || compareTimestamps(entry.version, record.commitTs!) < 0) {
        return `${record.id}'s write of ${write.key} at ${formatTimestamp(record.commitTs!)}, acknowledged at ${record.endMs} ms (it holds ${entry ? formatTimestamp(entry.version) : 'nothing'})`;
      }
    }
  }
  return null;
}

/**
 * Invariant 2a, the acceptance rules as production keeps them: a database of a view
 * (`replicas ∪ joining`) accepted it or learned it chosen before any APPLY sent for that view's
 * databases reached it. So it fences by it, and a joining one was cleared first (as it accepts
 * or learns the view), never after an APPLY it must keep.
 */
function checkViewKnownBeforeApplies(replicas: ReadonlyMap<number, SimulatedReplica>, chosen: ReadonlyMap<number, View>, violations: string[]): void {
  for (const [epoch, view] of chosen) {
    if (epoch === 0) continue;
    for (const database of databasesOf(view)) {
      const replica = replicas.get(database)!;
      const firstMs = replica.firstAdmittedForEpoch.get(epoch);
      if (firstMs === undefined) continue;
      const knew = replica.acceptorLog.some(({ atMs, state }) => atMs <= firstMs && (state.chosen.epoch >= epoch || (state.accepted !== null && viewsEqual(state.accepted.view, view))));
      if (!knew) violations.push(`2a: DATABASE${database}, ${view.replicas.includes(database) ? 'a replica' : 'joining'} in view ${describeView(view)}, admitted an APPLY sent for that view at ${firstMs} ms before it accepted or learned it`);
    }
  }
}

/**
 * Invariant 2a: each chosen view's replicas only as view/rules.ts `replicasAllowed` says:
 * replicas(e+1) ⊆ replicas(e) ∪ {databases joining in e whose transfer was recorded complete,
 * durably, before e+1 was chosen}, and never none. Its two rules on acceptance
 * (`replica-not-accepted`, `joining-not-accepted`) are left out here: production lets a database
 * of the view that did not accept it learn it at installation (the installer's announce,
 * db.chosen to every database of the view before any member is stopped), which clears a joining
 * one as accepting would have (database/sync-state.ts syncOnChosen). checkViewKnownBeforeApplies
 * checks them in that form.
 */
function checkReplicaRule(replicas: ReadonlyMap<number, SimulatedReplica>, chosen: ReadonlyMap<number, View>, times: ReadonlyMap<number, number>, violations: string[]): void {
  const everyDatabase = new Set(replicas.keys());
  for (const [epoch, next] of chosen) {
    const previous = chosen.get(epoch - 1);
    if (!previous) continue;
    const chosenAtMs = times.get(epoch) ?? Infinity;
    const transferComplete = new Set<number>();
    for (const replica of replicas.values()) {
      // Its sync state, durable, as it stood when e+1 was chosen.
      const before = replica.syncLog.filter((change) => change.atMs <= chosenAtMs);
      const sync = before[before.length - 1]?.sync ?? null;
      if (sync?.complete === true && sync.joiningSince <= previous.epoch) transferComplete.add(replica.id);
    }
    for (const violation of replicasAllowed(previous, next, transferComplete, everyDatabase)) {
      if (violation.rule === 'replica-not-accepted' || violation.rule === 'joining-not-accepted') continue;
      violations.push(`2a: view ${describeView(next)}, chosen at ${chosenAtMs} ms, after ${describeView(previous)}: ${JSON.stringify(violation)}`);
    }
  }
}

/**
 * Invariant 1: the chosen view of each epoch, from what the acceptors learned (their `chosen`)
 * and what proposers saw chosen; two different ones for an epoch are a violation.
 */
function chosenViews(replicas: ReadonlyMap<number, SimulatedReplica>, seen: ReadonlyMap<number, View>, violations: string[]): Map<number, View> {
  const chosen = new Map<number, View>(seen);
  for (const replica of replicas.values()) {
    for (const { state } of replica.acceptorLog) {
      const view = state.chosen;
      const known = chosen.get(view.epoch);
      if (known && !viewsEqual(known, view)) violations.push(`1: DATABASE${replica.id} learned view ${describeView(view)} for epoch ${view.epoch}, but ${describeView(known)} was chosen`);
      if (!known) chosen.set(view.epoch, view);
    }
    const initial = replica.fenceHistory[0]!;
    if (!chosen.has(0)) chosen.set(0, initial);
  }
  return chosen;
}

/** When each epoch's view was chosen: the first moment a majority of acceptors had accepted one ballot for it. */
function chosenTimes(replicas: ReadonlyMap<number, SimulatedReplica>): Map<number, number> {
  const firstAccept = new Map<string, Map<number, number>>();
  for (const replica of replicas.values()) {
    for (const { atMs, state } of replica.acceptorLog) {
      if (!state.accepted) continue;
      const key = `${state.accepted.view.epoch}|${state.accepted.ballot.round}|${state.accepted.ballot.proposer}|${state.accepted.ballot.incarnation}`;
      const byReplica = firstAccept.get(key) ?? new Map<number, number>();
      if (!byReplica.has(replica.id)) byReplica.set(replica.id, atMs);
      firstAccept.set(key, byReplica);
    }
  }
  const needed = majorityOf(replicas.size);
  const times = new Map<number, number>();
  for (const [key, byReplica] of firstAccept) {
    if (byReplica.size < needed) continue;
    const epoch = Number(key.split('|')[0]);
    const atMs = [...byReplica.values()].sort((a, b) => a - b)[needed - 1]!;
    times.set(epoch, Math.min(times.get(epoch) ?? Infinity, atMs));
  }
  return times;
}

/** The first chosen epoch with each life in it. */
function addedAt(chosen: ReadonlyMap<number, View>): Map<string, number> {
  const added = new Map<string, number>();
  for (const epoch of [...chosen.keys()].sort((a, b) => a - b)) {
    for (const member of chosen.get(epoch)!.members) {
      const life = `${member.id}/${member.incarnation}`;
      if (!added.has(life) && member.incarnation !== INCARNATION_BEFORE_BOOT) added.set(life, epoch);
    }
  }
  return added;
}

/** Invariant 4: no APPLY of a life is written at a database after it took in a chosen view that removed that life. */
function checkFencing(replicas: ReadonlyMap<number, SimulatedReplica>, chosen: ReadonlyMap<number, View>, violations: string[]): void {
  const added = addedAt(chosen);
  for (const replica of replicas.values()) {
    // Which of this database's fence views were chosen ones (an accepted view may lose its epoch).
    const history = replica.fenceHistory;
    const isChosen = history.map((view) => {
      const winner = chosen.get(view.epoch);
      return winner !== undefined && viewsEqual(winner, view);
    });
    /** Life -> the first fence view index that excluded it (Infinity: none). */
    const excludedFrom = new Map<string, number>();
    const firstExcluding = (life: string, member: Member, from: number): number => {
      let index = excludedFrom.get(life);
      if (index === undefined) {
        index = history.findIndex((view, at) => isChosen[at] && view.epoch >= from && !admits(view, member));
        if (index < 0) index = Infinity;
        excludedFrom.set(life, index);
      }
      return index;
    };
    for (const written of replica.writtenApplies) {
      const life = `${written.from.id}/${written.from.incarnation}`;
      const from = added.get(life);
      if (from === undefined) {
        violations.push(`4: DATABASE${replica.id} wrote APPLY ${formatTimestamp(written.ts)} of ${life}, a life no chosen view has`);
        continue;
      }
      const excluding = firstExcluding(life, written.from, from);
      if (excluding <= written.fenceIndex) {
        violations.push(`4: DATABASE${replica.id} wrote APPLY ${formatTimestamp(written.ts)} of ${life} at ${written.atMs} ms, after accepting view ${describeView(history[excluding]!)} without it`);
      }
    }
  }
}

/** Invariant 7: no commit reported by a life that a view chosen before the transaction's decision (after its last vote) excludes. */
function checkExcludedCommits(reported: ReadonlyArray<{ txid: TxnId; life: Member; decidedAtMs: number }>, chosen: ReadonlyMap<number, View>, times: ReadonlyMap<number, number>, violations: string[]): void {
  const added = addedAt(chosen);
  for (const commit of reported) {
    const from = added.get(`${commit.life.id}/${commit.life.incarnation}`);
    for (const [epoch, view] of chosen) {
      const atMs = times.get(epoch);
      if (from === undefined || epoch < from || atMs === undefined || atMs >= commit.decidedAtMs || isMember(view, commit.life)) continue;
      violations.push(`7: ${commit.txid} reported committed by ${commit.life.id}/${commit.life.incarnation}, decided at ${commit.decidedAtMs} ms, after view ${describeView(view)} without it was chosen at ${atMs} ms`);
      break;
    }
  }
}

/** Invariant 5's second half: a transaction acknowledged before another starts has the smaller timestamp. */
function checkRealTimeStamps(transactions: readonly TxnRecord[], violations: string[]): void {
  const commits = transactions.filter((record) => record.outcome === 'committed');
  const byEnd = [...commits].sort((a, b) => a.endMs! - b.endMs!);
  const byStart = [...commits].sort((a, b) => a.startMs! - b.startMs!);
  let largest: { ts: Timestamp; id: string } | null = null;
  let next = 0;
  for (const record of byStart) {
    while (next < byEnd.length && byEnd[next]!.endMs! < record.startMs!) {
      const done = byEnd[next++]!;
      if (!largest || isBefore(largest.ts, done.commitTs!)) largest = { ts: done.commitTs!, id: done.id };
    }
    if (largest && compareTimestamps(largest.ts, record.commitTs!) >= 0) {
      violations.push(`5: ${largest.id} (${formatTimestamp(largest.ts)}) was acknowledged before ${record.id} started, which has the smaller timestamp ${formatTimestamp(record.commitTs!)}`);
      return;
    }
  }
}
