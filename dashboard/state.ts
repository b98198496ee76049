// What the dashboard page shows, built from one poll of the cluster: a card per process, the
// installed view, each replica's applied and pending APPLYs, the hottest keys and the recent
// transactions of the middlewares, and the chart series. The page renders this document as it
// is; it computes nothing of its own.
import type { Status } from '../protocol/schemas.js';
import type { NodeStatus } from '../startup/status.js';
import { newestInstalledView, viewStandings } from '../startup/status-view.js';
import { nodeName } from '../startup/nodes.js';
import type { Series } from './history.js';
import type { AppliesPending } from './metrics-scrape.js';
import type { HotKey, MiddlewareObservation, ObservedTransaction } from './observe.js';

/** One process's card. */
export interface ProcessCard {
  name: string;
  role: 'middleware' | 'database';
  id: number;
  host: string;
  pid: number | null;
  ports: Record<string, number>;
  up: boolean;
  /** Why it counts as down: what its status request met. */
  problem: string | null;
  uptimeMs: number | null;
  /** The counters it reports, by name (a counter it does not report is absent). */
  counters: Record<string, number>;
  /** Database: where it stands in being brought up to date, in words. */
  syncState: string | null;
  /** Middleware: its incarnation; both: the epoch of its view. */
  incarnation: string | null;
  epoch: number | null;
  /** Where the newest view puts it, and why it is out or behind (startup/status-view.ts). */
  place: string | null;
  reason: string | null;
}

export interface ViewSummary {
  epoch: number;
  members: { name: string; incarnation: string }[];
  replicas: string[];
  joining: string[];
  /** What the answering middlewares suspect now: members and databases. */
  suspected: { name: string; by: string; why: string }[];
}

export interface ReplicaLag {
  name: string;
  up: boolean;
  /** APPLYs the database acknowledged since it started (its status). */
  applied: number | null;
  /**
   * APPLYs the middlewares have queued or on their way to it and not acknowledged yet, summed
   * over the middlewares whose metrics answered (occdb_applies_pending); null when none did.
   */
  queued: number | null;
  /** Requests in the database's own line of writes now (its status). */
  waiting: number | null;
  place: string | null;
}

/**
 * A recent transaction as the list shows it: without its timeline, which can be long (every
 * attempt of a contended transaction) and is fetched alone when picked (/api/timeline).
 */
export type RecentTransaction = Omit<ObservedTransaction, 'timeline'> & { middleware: string; events: number };

/** A recent transaction with its timeline, as /api/timeline answers. */
export type TracedTransaction = ObservedTransaction & { middleware: string };

export interface DashboardState {
  generatedAt: string;
  clusterFile: string;
  strategy: string;
  /** Set when the cluster file could not be read at the last poll (the last good one is used). */
  clusterFileProblem: string | null;
  processes: ProcessCard[];
  view: ViewSummary | null;
  replicas: ReplicaLag[];
  /** The middlewares whose APPLYs pending are not counted in `queued`, with why; null when every one is. */
  replicasNote: string | null;
  /** Hot keys summed over the middlewares, hottest first; `note` names the middlewares that did not answer. */
  hotKeys: { note: string | null; keys: HotKey[] };
  /** Recent transactions of every middleware, newest first; `note` names the middlewares that did not answer. */
  recent: { note: string | null; transactions: RecentTransaction[] };
  /** Where the latency series comes from, in words. */
  latencySource: string;
  series: Series;
}

/** The counters a card shows, in this order, as the process names them in its status. */
const CARD_COUNTERS = ['commits', 'rolledBack', 'failed', 'aborts', 'inFlight', 'applies', 'syncs', 'pending', 'keys'] as const;

/** Hot keys shown at most. */
export const HOT_KEYS_SHOWN_MAX = 20;
/** Recent transactions listed at most (each middleware keeps its last 50). */
export const RECENT_SHOWN_MAX = 60;

export interface PollResult {
  atMs: number;
  clusterFile: string;
  strategy: string;
  clusterFileProblem: string | null;
  statuses: NodeStatus[];
  /** Per middleware name: what it answered to observe, or why there is nothing. */
  observations: Map<string, MiddlewareObservation>;
  /** Per middleware name with a metrics port: its APPLYs pending by database, or why there is nothing. */
  appliesPending: AppliesPending;
}

export function buildState(poll: PollResult, series: Series, latencySource: string): DashboardState {
  const standings = viewStandings(poll.statuses);
  const processes = poll.statuses.map((entry, index): ProcessCard => {
    const standing = standings[index]!;
    const status = entry.status;
    return {
      name: entry.node.name,
      role: entry.node.role,
      id: entry.node.id,
      host: entry.node.host,
      pid: status?.pid ?? entry.node.pid ?? null,
      ports: entry.node.ports,
      up: entry.state === 'up',
      problem: entry.problem ?? null,
      uptimeMs: status?.uptimeMs ?? null,
      counters: status === undefined ? {} : counters(status),
      syncState: entry.node.role === 'database' && status !== undefined ? syncWords(status) : null,
      incarnation: standing.incarnation,
      epoch: standing.epoch,
      place: standing.place,
      reason: standing.reason,
    };
  });
  return {
    generatedAt: new Date(poll.atMs).toISOString(),
    clusterFile: poll.clusterFile,
    strategy: poll.strategy,
    clusterFileProblem: poll.clusterFileProblem,
    processes,
    view: viewSummary(poll.statuses),
    replicas: replicaLags(poll, processes),
    replicasNote: uncountedMiddlewares(poll),
    hotKeys: hotKeys(poll),
    recent: recentTransactions(poll),
    latencySource,
    series,
  };
}

function counters(status: Status): Record<string, number> {
  const reported: Record<string, number> = {};
  const fields = status as Record<string, unknown>;
  for (const name of CARD_COUNTERS) {
    const value = fields[name];
    if (typeof value === 'number') reported[name] = value;
  }
  return reported;
}

function syncWords(status: Status): string {
  if (status.sync === undefined) return 'not reported';
  if (status.sync === null) return 'in sync';
  return `joining since epoch ${status.sync.joiningSince}${status.sync.complete ? ', transfer complete' : ', transfer under way'}`;
}

function viewSummary(statuses: readonly NodeStatus[]): ViewSummary | null {
  const view = newestInstalledView(statuses);
  if (view === null) return null;
  const suspected: ViewSummary['suspected'] = [];
  for (const { node, status } of statuses) {
    if (node.role !== 'middleware' || status === undefined) continue;
    for (const { id, why } of status.suspected ?? []) suspected.push({ name: nodeName('middleware', id), by: node.name, why });
    for (const { id, why } of status.suspectedDatabases ?? []) suspected.push({ name: nodeName('database', id), by: node.name, why });
  }
  return {
    epoch: view.epoch,
    members: view.members.map((member) => ({ name: nodeName('middleware', member.id), incarnation: member.incarnation })),
    replicas: view.replicas.map((id) => nodeName('database', id)),
    joining: view.joining.map((id) => nodeName('database', id)),
    suspected,
  };
}

function replicaLags(poll: PollResult, processes: readonly ProcessCard[]): ReplicaLag[] {
  return poll.statuses.flatMap(({ node, status }, index): ReplicaLag[] => {
    if (node.role !== 'database') return [];
    return [{
      name: node.name,
      up: status !== undefined,
      applied: status?.applies ?? null,
      queued: queuedApplies(poll.appliesPending, node.name),
      waiting: status?.pending ?? null,
      place: processes[index]!.place,
    }];
  });
}

/** APPLYs the middlewares hold for `database`, summed over those whose metrics answered; null when none did. */
function queuedApplies(appliesPending: AppliesPending, database: string): number | null {
  let total: number | null = null;
  for (const scraped of appliesPending.values()) {
    if (scraped.ok) total = (total ?? 0) + (scraped.byDatabase.get(database) ?? 0);
  }
  return total;
}

function uncountedMiddlewares(poll: PollResult): string | null {
  const uncounted: string[] = [];
  for (const { node } of poll.statuses) {
    if (node.role !== 'middleware') continue;
    const scraped = poll.appliesPending.get(node.name);
    if (scraped === undefined) uncounted.push(`${node.name} (no metrics port)`);
    else if (!scraped.ok) uncounted.push(`${node.name} (${scraped.problem})`);
  }
  return uncounted.length === 0 ? null : `queued APPLYs not counted for ${uncounted.join('; ')}`;
}

function hotKeys(poll: PollResult): DashboardState['hotKeys'] {
  const summed = new Map<string, HotKey>();
  for (const observation of poll.observations.values()) {
    if (!observation.ok) continue;
    for (const hot of observation.hotKeys) {
      const sum = summed.get(hot.key) ?? { key: hot.key, aborts: 0, waits: 0 };
      sum.aborts += hot.aborts;
      sum.waits += hot.waits;
      summed.set(hot.key, sum);
    }
  }
  const keys = [...summed.values()]
    .sort((a, b) => b.aborts + b.waits - (a.aborts + a.waits) || a.key.localeCompare(b.key))
    .slice(0, HOT_KEYS_SHOWN_MAX);
  return { note: silentMiddlewares(poll), keys };
}

/** The middlewares whose observations are missing from this poll, with why; null when every one answered. */
function silentMiddlewares(poll: PollResult): string | null {
  const silent = [...poll.observations].flatMap(([name, observation]) => (observation.ok ? [] : [`${name} (${observation.problem})`]));
  return silent.length === 0 ? null : `without ${silent.join('; ')}`;
}

function recentTransactions(poll: PollResult): DashboardState['recent'] {
  const transactions: RecentTransaction[] = [];
  for (const [name, observation] of poll.observations) {
    if (!observation.ok) continue;
    for (const { timeline, ...transaction } of observation.recent) transactions.push({ ...transaction, middleware: name, events: timeline.length });
  }
  transactions.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  return { note: silentMiddlewares(poll), transactions: transactions.slice(0, RECENT_SHOWN_MAX) };
}

/** The transaction `traceId` with its timeline, if a middleware listed it at the poll; null if none did. */
export function findTransaction(observations: ReadonlyMap<string, MiddlewareObservation>, traceId: string): TracedTransaction | null {
  for (const [name, observation] of observations) {
    if (!observation.ok) continue;
    const found = observation.recent.find((transaction) => transaction.traceId === traceId);
    if (found) return { ...found, middleware: name };
  }
  return null;
}
