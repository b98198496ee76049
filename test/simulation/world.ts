// The world both seeded simulators run in (simulator.ts for OCC, twopl-simulator.ts for 2PL):
// one virtual clock, one queue of scheduled events, one source of randomness, a fake network
// that delays, reorders and drops messages, and the database replicas (replica.ts). A
// simulator brings the middlewares' cores, the shell that carries their effects, and the
// clients. Everything in a run is an event here, and every random draw comes from here, so a
// seed replays exactly. Also here: the checks both make once a run has gone quiet (the
// replicas are identical, and each key holds its largest-timestamp committed write).
import type { GroupApply } from '../../database/thomas.js';
import { compareTimestamps, formatTimestamp, TIMESTAMP_ZERO, type Timestamp } from '../../timestamp/timestamp.js';
import type { Key, Value } from '../../transaction/types.js';
import type { History } from '../history/checker.js';
import { EventQueue } from './event-queue.js';
import { Random } from './random.js';
import { SimulatedReplica, type ReplicaRule, type SimulationScheduler } from './replica.js';
import { initialView } from '../../database/server.js';

/** The cluster, its clients and its network, as both simulators take them. */
export interface SimulatedWorldOptions {
  seed: number;
  middlewares: number;
  replicas: number;
  clientsPerMiddleware: number;
  keys: number;
  /** Network delay of one message, in virtual ms: 1..delayMsMax, so messages overtake each other. */
  delayMsMax: number;
  dropProbability: number;
  /**
   * Share of delivered messages that are slow: they take delayMsMax+1..slowMessageDelayMsMax
   * virtual ms, as a message stuck in a buffer does, and a retry sent after it can overtake it.
   * None by default.
   */
  slowMessageProbability?: number;
  slowMessageDelayMsMax?: number;
  /** A rule of the database that every replica breaks on purpose (replica.ts). */
  replicaFault?: ReplicaRule;
  /** Called with every event fed to a core and every effect it returns (debugging a seed). */
  trace?: (line: string) => void;
}

/** What a simulator sets for its runs. */
export interface RunLimits {
  /** Events a run may take; more means a livelock. */
  eventsMax: number;
  /** The simulation's name in errors, e.g. `2PL simulation`. */
  name: string;
}

export class SimulatedWorld implements SimulationScheduler {
  /** The run's only randomness: draw from nothing else. */
  readonly random: Random;
  /** `k0`, `k1`, …: every key the clients use. */
  readonly keys: readonly Key[];
  /** 1, 2, …, as the cores number them. */
  readonly middlewareIds: readonly number[];
  readonly replicaIds: readonly number[];
  /** The database replicas, which run the production rules (replica.ts). */
  readonly replicas: ReadonlyMap<number, SimulatedReplica>;
  private readonly queue = new EventQueue();
  /** Breaks ties between events due at the same time: the one scheduled first runs first. */
  private sequence = 0;
  private currentMs = 0;
  private messageCount = 0;
  private eventCount = 0;

  /**
   * `databases.views`: the replicas are Paxos acceptors that fence, starting from epoch 0 with
   * every middleware (database/server.ts initialView); `skipFencing` breaks their fencing.
   */
  constructor(private readonly options: SimulatedWorldOptions, private readonly limits: RunLimits, databases: { views: boolean; skipFencing?: boolean } = { views: false }) {
    const { delayMsMax, slowMessageProbability = 0, slowMessageDelayMsMax = delayMsMax } = options;
    if (!(delayMsMax >= 1)) throw new Error(`${this.where}: delayMsMax must be at least 1, not ${delayMsMax}`);
    if (slowMessageProbability > 0 && !(slowMessageDelayMsMax > delayMsMax)) throw new Error(`${this.where}: slow messages must take longer than delayMsMax (${delayMsMax}), not up to ${slowMessageDelayMsMax}`);
    this.random = new Random(options.seed);
    this.keys = Array.from({ length: options.keys }, (_, index) => `k${index}`);
    this.middlewareIds = Array.from({ length: options.middlewares }, (_, index) => index + 1);
    this.replicaIds = Array.from({ length: options.replicas }, (_, index) => index + 1);
    const replicaOptions = {
      ...(options.replicaFault ? { brokenRule: options.replicaFault } : {}),
      ...(databases.views ? { initialView: initialView({ middlewares: this.middlewareIds.map((id) => ({ id })), databases: this.replicaIds.map((id) => ({ id })) }), skipFencing: databases.skipFencing ?? false } : {}),
    };
    this.replicas = new Map(this.replicaIds.map((id) => [id, new SimulatedReplica(id, this, this.random, replicaOptions)]));
  }

  /** Virtual time: when the event running now was due. */
  get nowMs(): number {
    return this.currentMs;
  }

  /** Messages sent, lost ones included. */
  get messages(): number {
    return this.messageCount;
  }

  schedule(delayMs: number, run: () => void): void {
    if (!(delayMs >= 0)) throw new Error(`${this.where}: an event scheduled ${delayMs} ms from now; time never goes backwards`);
    this.queue.push({ atMs: this.currentMs + delayMs, sequence: this.sequence++, run });
  }

  /** Sends a message over the fake network: delayed at random (so reordered), sometimes lost. */
  send(deliver: () => void): void {
    this.messageCount += 1;
    if (this.random.chance(this.options.dropProbability)) return;
    this.schedule(this.messageDelayMs(), deliver);
  }

  /** Sends a message that is delayed and reordered like any other, but never lost. */
  sendReliably(deliver: () => void): void {
    this.messageCount += 1;
    this.schedule(this.messageDelayMs(), deliver);
  }

  /**
   * A request that waits `timeoutMs` for its answer. `ask` sends it and hands the answer to
   * `reply` (over the network, so it may never come). The first answer in time goes to
   * `answered`; with none in time, `timedOut` runs instead; anything later is dropped.
   */
  request<Answer>(timeoutMs: number, ask: (reply: (answer: Answer) => void) => void, answered: (answer: Answer) => void, timedOut: () => void): void {
    let over = false;
    ask((answer) => {
      if (over) return;
      over = true;
      answered(answer);
    });
    this.schedule(timeoutMs, () => {
      if (over) return;
      over = true;
      timedOut();
    });
  }

  /**
   * The shell's loop, for either kind of core: the function returned feeds an event to a
   * middleware's core (its current one: a restart replaces it) and carries out, in order, each
   * effect the core returns. The trace option sees both.
   */
  dispatcher<Event, Effect>(core: (middleware: number) => { handle(event: Event): Effect[] }, execute: (middleware: number, effect: Effect) => void): (middleware: number, event: Event) => void {
    return (middleware, event) => {
      const effects = core(middleware).handle(event);
      this.options.trace?.(`${this.currentMs} M${middleware} <- ${JSON.stringify(event)} -> ${JSON.stringify(effects)}`);
      for (const effect of effects) execute(middleware, effect);
    };
  }

  /** The closed-loop clients, clientsPerMiddleware on each middleware, numbered from 0; each starts within 5 ms. */
  startClients(start: (client: number, middleware: number) => void): void {
    let client = 0;
    for (const middleware of this.middlewareIds) {
      for (let index = 0; index < this.options.clientsPerMiddleware; index++) {
        const id = client++;
        this.schedule(this.random.int(0, 5), () => start(id, middleware));
      }
    }
  }

  /**
   * Runs the events in time order until none is left, or until `stopAfter`, asked after every
   * event, says to stop. More than `eventsMax` events throws: the run is livelocked.
   */
  run(stopAfter?: () => boolean): void {
    for (;;) {
      const event = this.queue.pop();
      if (!event) return;
      if (++this.eventCount > this.limits.eventsMax) throw new Error(`${this.where}: more than ${this.limits.eventsMax} events (virtual time ${this.currentMs} ms); livelock?`);
      this.currentMs = event.atMs;
      event.run();
      if (stopAfter?.()) return;
    }
  }

  /** finalStateFaults on this world's replicas, for the writes of the transactions `history` records as committed. */
  finalStateFaults(history: History): FinalStateFaults {
    return finalStateFaults(this.keys, [...this.replicas.values()].map((replica) => replica.stored()), committedWrites(history));
  }

  /** Without slow messages, one draw: a run's draws do not depend on the option being there. */
  private messageDelayMs(): number {
    const { delayMsMax, slowMessageProbability = 0, slowMessageDelayMsMax = delayMsMax } = this.options;
    if (slowMessageProbability > 0 && this.random.chance(slowMessageProbability)) return this.random.int(delayMsMax + 1, slowMessageDelayMsMax);
    return this.random.int(1, delayMsMax);
  }

  private get where(): string {
    return `${this.limits.name} seed ${this.options.seed}`;
  }
}

/** What the replicas got wrong after a run went quiet; both empty for a correct run. */
export interface FinalStateFaults {
  /** Keys on which the replicas disagree. */
  divergentKeys: Key[];
  /** Keys whose final value is not the largest-timestamp committed write, each with what it holds and what it should. */
  wrongFinalKeys: string[];
}

/** A key's entry at a replica; no value: never written, or deleted. */
export interface StoredEntry {
  readonly version: Timestamp;
  readonly value?: Value;
}

const ABSENT: StoredEntry = { version: TIMESTAMP_ZERO };

/**
 * The checks once nothing is in flight any more: every replica stores the same entry for each
 * key, and that entry is the key's largest-timestamp committed write (what the Thomas rule
 * keeps, whatever order the APPLYs came in). `stored` is each replica's stored entries;
 * `committed` every committed transaction's timestamp and writes.
 */
export function finalStateFaults(keys: readonly Key[], stored: ReadonlyArray<ReadonlyMap<Key, StoredEntry>>, committed: readonly GroupApply[]): FinalStateFaults {
  if (stored.length === 0) throw new Error('finalStateFaults: no replica to check');
  const expected = new Map<Key, StoredEntry>();
  for (const { ts, writes } of committed) {
    for (const write of writes) {
      const current = expected.get(write.key);
      if (!current || compareTimestamps(current.version, ts) < 0) expected.set(write.key, write.value === undefined ? { version: ts } : { version: ts, value: write.value });
    }
  }
  const divergentKeys: Key[] = [];
  const wrongFinalKeys: string[] = [];
  for (const key of keys) {
    const entries = stored.map((replica) => replica.get(key) ?? ABSENT);
    const first = entries[0]!;
    if (entries.some((entry) => !sameEntry(entry, first))) divergentKeys.push(key);
    const want = expected.get(key) ?? ABSENT;
    if (!sameEntry(want, first)) wrongFinalKeys.push(`${key} (${describeEntry(first)}, expected ${describeEntry(want)})`);
  }
  return { divergentKeys, wrongFinalKeys };
}

/** Each committed transaction's timestamp and writes, as `history` records them (a null value is a delete). */
export function committedWrites(history: History): GroupApply[] {
  const committed: GroupApply[] = [];
  for (const record of history.transactions) {
    if (record.outcome !== 'committed' || record.writes.length === 0) continue;
    if (!record.commitTs) throw new Error(`${record.id} committed without a commit timestamp`);
    committed.push({ ts: record.commitTs, writes: record.writes.map(({ key, value }) => (value === null ? { key } : { key, value })) });
  }
  return committed;
}

function sameEntry(a: StoredEntry, b: StoredEntry): boolean {
  return a.value === b.value && compareTimestamps(a.version, b.version) === 0;
}

function describeEntry(entry: StoredEntry): string {
  return `${entry.value === undefined ? 'nothing' : String(entry.value)}@${formatTimestamp(entry.version)}`;
}
