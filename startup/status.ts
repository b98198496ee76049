// occdb status: asks every process of the cluster for its status, all at once, each with a
// short timeout, and prints one row per process; then, when the processes report views, the
// newest installed view and how each process stands towards it (startup/status-view.ts).
import { type ClusterFile } from '../cluster/cluster-file.js';
import { clientRequestOnce } from '../protocol/client-connection.js';
import { type Status } from '../protocol/schemas.js';
import { type ClusterNode, clusterNodes, formatPorts } from './nodes.js';
import { type Output, formatTable } from './output.js';
import { formatViewSection, reportsViews, viewStandings } from './status-view.js';
import { clusterHealth, formatHealthLine } from './status-health.js';

const STATUS_TIMEOUT_MS = 2_000;

export interface NodeStatus {
  node: ClusterNode;
  state: 'up' | 'down';
  /** The process's own answer, when it is up. */
  status?: Status;
  /** Why it counts as down. */
  problem?: string;
}

/** Every process's status, each asked at once; `timeoutMs` bounds each question, connecting included. */
export async function collectStatus(cluster: ClusterFile, timeoutMs = STATUS_TIMEOUT_MS): Promise<NodeStatus[]> {
  return Promise.all(clusterNodes(cluster).map(async (node): Promise<NodeStatus> => {
    try {
      const status = await clientRequestOnce(node.endpoint, node.name, { type: 'status' }, timeoutMs);
      // Another process on the recorded port (say, of another cluster) is not this node.
      if (status.role !== node.role || status.id !== node.id) {
        return { node, state: 'down', problem: `port ${node.endpoint.port} is answered by ${status.role.toUpperCase()}${status.id}` };
      }
      return { node, state: 'up', status };
    } catch (error) {
      return { node, state: 'down', problem: (error as Error).message };
    }
  }));
}

/** How long a process has run: `45s`, `12m03s`, `5h07m`, `3d04h`. */
export function formatUptime(uptimeMs: number | undefined): string {
  if (uptimeMs === undefined) return '-';
  const seconds = Math.floor(uptimeMs / 1000);
  const pad = (value: number): string => String(value).padStart(2, '0');
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad(seconds % 60)}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${pad(Math.floor(seconds / 60) % 60)}m`;
  return `${Math.floor(seconds / 86_400)}d${pad(Math.floor(seconds / 3600) % 24)}h`;
}

/** Per second, from two samples of the same process: what `status --watch` adds to the tables. */
export interface Rates {
  /** Middleware: transactions committed, and attempts aborted, per second. */
  commitsPerSecond?: number;
  abortsPerSecond?: number;
  /** Database: APPLYs written per second. */
  appliesPerSecond?: number;
}

/**
 * The rates of each process between an earlier sample and a later one, by name: the difference
 * of its counters over the time between the two. None for a process down in either sample, or
 * restarted in between (its counters began again).
 */
export function ratesBetween(earlier: readonly NodeStatus[], later: readonly NodeStatus[], elapsedMs: number): Map<string, Rates> {
  const rates = new Map<string, Rates>();
  if (elapsedMs <= 0) return rates;
  const before = new Map(earlier.map((entry) => [entry.node.name, entry.status]));
  const perSecond = (now: number | undefined, then: number | undefined): number | undefined =>
    now === undefined || then === undefined || now < then ? undefined : ((now - then) * 1000) / elapsedMs;
  for (const { node, status } of later) {
    const previous = before.get(node.name);
    if (!status || !previous || previous.pid !== status.pid) continue;
    rates.set(node.name, node.role === 'middleware'
      ? { commitsPerSecond: perSecond(status.commits, previous.commits), abortsPerSecond: perSecond(status.aborts, previous.aborts) }
      : { appliesPerSecond: perSecond(status.applies, previous.applies) });
  }
  return rates;
}

function formatRate(rate: number | undefined): string {
  return rate === undefined ? '-' : rate.toFixed(1);
}

/**
 * The process tables: the middlewares' (transactions) and the databases' (what each database
 * knows of its store). With `rates` (status --watch), the per-second columns too.
 */
export function formatStatusTable(statuses: readonly NodeStatus[], rates?: ReadonlyMap<string, Rates>): string[] {
  const cell = (value: number | string | undefined): string => (value === undefined ? '-' : String(value));
  const common = ({ node, state, status }: NodeStatus): string[] => [node.name, node.host, cell(status?.pid ?? node.pid), formatPorts(node), state, formatUptime(status?.uptimeMs)];
  const commonHeader = ['NAME', 'HOST', 'PID', 'PORTS', 'STATE', 'UPTIME'];
  const middlewares = statuses.filter((entry) => entry.node.role === 'middleware');
  const databases = statuses.filter((entry) => entry.node.role === 'database');
  const lines: string[] = [];
  if (middlewares.length > 0) {
    const rows = middlewares.map((entry) => {
      const { status } = entry;
      const rate = rates?.get(entry.node.name);
      return [
        ...common(entry),
        cell(status?.clock), cell(status?.commits), cell(status?.rolledBack), cell(status?.aborts),
        ...(rates ? [formatRate(rate?.commitsPerSecond), formatRate(rate?.abortsPerSecond)] : []),
        cell(status?.inFlight), cell(status?.members?.join(',')), cell(status?.strategy),
      ];
    });
    lines.push(...formatTable([...commonHeader, 'CLOCK', 'COMMITS', 'ROLLED-BACK', 'ABORTS', ...(rates ? ['COMMITS/S', 'ABORTS/S'] : []), 'IN-FLIGHT', 'MEMBERS', 'STRATEGY'], rows));
  }
  if (databases.length > 0) {
    const rows = databases.map((entry) => {
      const { status } = entry;
      return [
        ...common(entry),
        cell(status?.applies), ...(rates ? [formatRate(rates.get(entry.node.name)?.appliesPerSecond)] : []), cell(status?.syncs), cell(status?.keys), cell(status?.pending),
      ];
    });
    if (lines.length > 0) lines.push('');
    lines.push(...formatTable([...commonHeader, 'APPLIES', ...(rates ? ['APPLIES/S'] : []), 'SYNCS', 'KEYS', 'PENDING'], rows));
  }
  return lines;
}

/** Rates summed over the cluster, in one line: `rates: 812.3 commits/s, 40.1 aborts/s, 2436.9 applies/s (over 2.0 s)`. */
export function formatRatesLine(rates: ReadonlyMap<string, Rates>, elapsedMs: number): string {
  let commits = 0;
  let aborts = 0;
  let applies = 0;
  for (const rate of rates.values()) {
    commits += rate.commitsPerSecond ?? 0;
    aborts += rate.abortsPerSecond ?? 0;
    applies += rate.appliesPerSecond ?? 0;
  }
  return `rates: ${commits.toFixed(1)} commits/s, ${aborts.toFixed(1)} aborts/s, ${applies.toFixed(1)} applies/s (over ${(elapsedMs / 1000).toFixed(1)} s)`;
}

/** The classic output: the health line, the process tables, then the view section when there is one. */
export function formatStatus(statuses: readonly NodeStatus[], rates?: ReadonlyMap<string, Rates>): string[] {
  const view = formatViewSection(statuses);
  return [formatHealthLine(clusterHealth(statuses)), '', ...formatStatusTable(statuses, rates), ...(view.length > 0 ? ['', ...view] : [])];
}

/**
 * The `--json` document: one row per process with its raw status, and, when the processes
 * report views, its standing towards the newest installed view as `viewStanding`.
 */
export function statusReport(statuses: readonly NodeStatus[]): object[] {
  const standings = reportsViews(statuses) ? viewStandings(statuses) : undefined;
  return statuses.map(({ node, state, status, problem }, index) => ({
    name: node.name,
    role: node.role,
    id: node.id,
    host: node.host,
    pid: status?.pid ?? node.pid ?? null,
    ports: node.ports,
    state,
    uptimeMs: status?.uptimeMs ?? null,
    ...(status ? { status } : {}),
    ...(problem ? { problem } : {}),
    ...(standings ? { viewStanding: standings[index] } : {}),
  }));
}

/** Prints the status of every process; returns true when all are up. */
export async function runStatus(cluster: ClusterFile, json: boolean, output: Output): Promise<boolean> {
  const statuses = await collectStatus(cluster);
  if (json) {
    output.line(JSON.stringify(statusReport(statuses), null, 2));
  } else {
    for (const line of formatStatus(statuses)) output.line(line);
    for (const { node, problem } of statuses) if (problem) output.problem(`${node.name} is down: ${problem}`);
  }
  return statuses.every((s) => s.state === 'up');
}

export interface WatchOptions {
  json: boolean;
  intervalMs: number;
  /** Refreshes before it ends by itself; undefined: until Ctrl-C (SIGINT). */
  count?: number | undefined;
  /** Clear the screen before each refresh (a terminal); otherwise refreshes follow each other. */
  clearScreen: boolean;
}

/**
 * occdb status --watch: the status again every interval, with the rates since the refresh before.
 * Ends on SIGINT (Ctrl-C) or after `count` refreshes; returns whether every process was up at
 * the last one. With `json`, one JSON document a line per refresh: `{ at, health, rates, processes }`.
 */
export async function watchStatus(cluster: ClusterFile, options: WatchOptions, output: Output): Promise<boolean> {
  let stopped = false;
  let wake: (() => void) | null = null;
  const stop = (): void => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  let previous: { statuses: NodeStatus[]; atMs: number } | null = null;
  let allUp = true;
  try {
    for (let refresh = 1; !stopped && (options.count === undefined || refresh <= options.count); refresh += 1) {
      const statuses = await collectStatus(cluster);
      const atMs = performance.now();
      const elapsedMs = previous ? atMs - previous.atMs : 0;
      const rates = previous ? ratesBetween(previous.statuses, statuses, elapsedMs) : new Map<string, Rates>();
      allUp = statuses.every((entry) => entry.state === 'up');
      if (options.json) {
        output.line(JSON.stringify({
          at: new Date().toISOString(),
          refresh,
          health: clusterHealth(statuses),
          rates: previous ? Object.fromEntries(rates) : null,
          processes: statusReport(statuses),
        }));
      } else {
        const lines = [
          `${new Date().toISOString()}  refresh ${refresh}${options.count === undefined ? '' : ` of ${options.count}`}, every ${(options.intervalMs / 1000).toFixed(1)} s (Ctrl-C ends)`,
          ...formatStatus(statuses, previous ? rates : undefined),
          '',
          previous ? formatRatesLine(rates, elapsedMs) : 'rates: from the next refresh on',
        ];
        output.line((options.clearScreen ? '\x1b[H\x1b[2J' : refresh > 1 ? '\n' : '') + lines.join('\n'));
      }
      previous = { statuses, atMs };
      if (options.count !== undefined && refresh >= options.count) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    process.off('SIGINT', stop);
  }
  return allUp;
}
