// The dashboard's view of the cluster, refreshed once a second: it reads the cluster file again
// (a process restarted by `occdb start` has a new pid), asks every process for its status, every
// middleware for its observations and for the APPLYs it holds per replica (its metrics), all at
// once and each with a timeout shorter than the period, and hands the new state to whoever
// listens (the page's event streams).
import { readClusterFile, type ClusterFile } from '../cluster/cluster-file.js';
import { isLocalHost, localLauncher } from '../startup/launcher.js';
import { clusterNodes } from '../startup/nodes.js';
import { collectStatus, type NodeStatus } from '../startup/status.js';
import { History, type CounterReading } from './history.js';
import { scrapeAppliesPending } from './metrics-scrape.js';
import { observeMiddlewares, type MiddlewareObservation } from './observe.js';
import { buildState, findTransaction, type DashboardState, type PollResult, type TracedTransaction } from './state.js';

export const POLL_PERIOD_MS = 1_000;
/** Each process's answer must come within this, so that a poll ends before the next is due. */
const POLL_TIMEOUT_MS = 800;

/**
 * The processes' status has no latency, so the percentiles come from the transactions the
 * middlewares list in `observe`: each lists its last 50, so a poll sees every transaction only
 * up to 50 a second per middleware, and above that the newest 50 of each second.
 */
export const LATENCY_SOURCE = 'from request to reply, of the transactions the middlewares\' observe answers list as committed since the poll before '
  + '(each middleware lists its last 50: above 50 commits a second per middleware, the newest 50 of each second)';

type Listener = (state: DashboardState) => void;

export class Poller {
  private readonly history = new History();
  private readonly listeners = new Set<Listener>();
  private cluster: ClusterFile;
  private clusterFileProblem: string | null = null;
  private latest: DashboardState | null = null;
  private latestObservations: ReadonlyMap<string, MiddlewareObservation> = new Map();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private stopped = false;
  /** The trace ids the last poll saw: a trace not among them finished since. */
  private seenTraceIds = new Set<string>();

  /** Reads the cluster file once: one that cannot be read stops the dashboard before it starts (an OccdbError naming the file). */
  constructor(readonly clusterFile: string) {
    this.cluster = readClusterFile(clusterFile);
  }

  /** Polls now, then every POLL_PERIOD_MS until stop(). */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), POLL_PERIOD_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  /** The newest state (null before the first poll ended). */
  get state(): DashboardState | null {
    return this.latest;
  }

  /** The transaction `traceId` with its timeline, as the middlewares listed it at the last poll; null if none did. */
  transaction(traceId: string): TracedTransaction | null {
    return findTransaction(this.latestObservations, traceId);
  }

  /** Calls `listener` with every new state until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The cluster as last read: the run form's middlewares come from it. */
  get clusterNow(): ClusterFile {
    return this.cluster;
  }

  private async poll(): Promise<void> {
    // A poll that outlasts its period (a slow machine) is not overlapped by the next one.
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      this.rereadClusterFile();
      const nodes = clusterNodes(this.cluster);
      const middlewares = nodes.filter((node) => node.role === 'middleware');
      const [statuses, observations, appliesPending] = await Promise.all([
        collectStatus(this.cluster, POLL_TIMEOUT_MS).then(explainDown),
        observeMiddlewares(middlewares, POLL_TIMEOUT_MS),
        scrapeAppliesPending(middlewares, POLL_TIMEOUT_MS),
      ]);
      const atMs = Date.now();
      const poll: PollResult = {
        atMs,
        clusterFile: this.clusterFile,
        strategy: this.cluster.strategy,
        clusterFileProblem: this.clusterFileProblem,
        statuses,
        observations,
        appliesPending,
      };
      this.history.add(atMs, counterReadings(statuses), this.newLatencies(poll));
      if (this.stopped) return;
      this.latest = buildState(poll, this.history.snapshot(), LATENCY_SOURCE);
      this.latestObservations = observations;
      for (const listener of this.listeners) listener(this.latest);
    } finally {
      this.polling = false;
    }
  }

  private rereadClusterFile(): void {
    try {
      this.cluster = readClusterFile(this.clusterFile);
      this.clusterFileProblem = null;
    } catch (error) {
      // Rewritten while we read it, or removed: keep showing the cluster as last read.
      this.clusterFileProblem = (error as Error).message;
    }
  }

  /** The latencies of the committed transactions no poll saw before. */
  private newLatencies(poll: PollResult): number[] {
    const seen = new Set<string>();
    const latencies: number[] = [];
    for (const observation of poll.observations.values()) {
      if (!observation.ok) continue;
      for (const transaction of observation.recent) {
        seen.add(transaction.traceId);
        if (transaction.outcome === 'committed' && !this.seenTraceIds.has(transaction.traceId)) latencies.push(transaction.totalMs);
      }
    }
    // The first poll has no interval before it: what it sees finished at any time.
    const first = this.seenTraceIds.size === 0 && this.latest === null;
    this.seenTraceIds = seen;
    return first ? [] : latencies;
  }
}

function counterReadings(statuses: readonly NodeStatus[]): Map<string, CounterReading> {
  const readings = new Map<string, CounterReading>();
  for (const { node, status } of statuses) {
    if (node.role !== 'middleware' || status === undefined) continue;
    readings.set(node.name, { pid: status.pid, uptimeMs: status.uptimeMs, commits: status.commits ?? 0, aborts: status.aborts ?? 0 });
  }
  return readings;
}

/**
 * A process on this machine that does not answer is often simply gone: say so, from its
 * recorded pid, before what its status request met.
 */
async function explainDown(statuses: NodeStatus[]): Promise<NodeStatus[]> {
  return Promise.all(statuses.map(async (entry) => {
    if (entry.state === 'up' || entry.node.pid === undefined || !isLocalHost(entry.node.host)) return entry;
    if (await localLauncher.isAlive(entry.node.pid)) return entry;
    return { ...entry, problem: `process ${entry.node.pid} is not running (${entry.problem ?? 'no answer'})` };
  }));
}
