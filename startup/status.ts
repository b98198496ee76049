// occdb status: asks every process of the cluster for its status, all at once, each with a
// short timeout, and prints one row per process; then, when the processes report views, the
// newest installed view and how each process stands towards it (startup/status-view.ts).
import { type ClusterFile } from '../cluster/cluster-file.js';
import { Connection } from '../protocol/connection.js';
import { type Status } from '../protocol/schemas.js';
import { type ClusterNode, clusterNodes, formatPorts } from './nodes.js';
import { type Output, formatTable } from './output.js';
import { formatViewSection, reportsViews, viewStandings } from './status-view.js';

const STATUS_TIMEOUT_MS = 2_000;

export interface NodeStatus {
  node: ClusterNode;
  state: 'up' | 'down';
  /** The process's own answer, when it is up. */
  status?: Status;
  /** Why it counts as down. */
  problem?: string;
}

/**
 * Every process's status, each asked at once. `timeoutMs` bounds the whole question, making
 * the connection included: a request's own timeout starts only once its connection is made,
 * which to a host cut off the network takes the connect timeout (seconds) to fail.
 */
export async function collectStatus(cluster: ClusterFile, timeoutMs = STATUS_TIMEOUT_MS): Promise<NodeStatus[]> {
  return Promise.all(clusterNodes(cluster).map(async (node): Promise<NodeStatus> => {
    const connection = new Connection(node.endpoint, node.name);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${node.name} did not answer status within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const status = await Promise.race([connection.request({ type: 'status' }, timeoutMs), deadline]);
      // Another process on the recorded port (say, of another cluster) is not this node.
      if (status.role !== node.role || status.id !== node.id) {
        return { node, state: 'down', problem: `port ${node.endpoint.port} is answered by ${status.role.toUpperCase()}${status.id}` };
      }
      return { node, state: 'up', status };
    } catch (error) {
      return { node, state: 'down', problem: (error as Error).message };
    } finally {
      clearTimeout(timer);
      connection.close();
    }
  }));
}

export function formatStatusTable(statuses: readonly NodeStatus[]): string[] {
  const cell = (value: number | string | undefined): string => (value === undefined ? '-' : String(value));
  const rows = statuses.map(({ node, state, status }) => [
    node.name,
    node.host,
    cell(status?.pid ?? node.pid),
    formatPorts(node),
    state,
    cell(status?.clock),
    cell(status?.commits),
    cell(status?.aborts),
    cell(status?.inFlight),
    cell(status?.members?.join(',')),
    cell(status?.strategy),
  ]);
  return formatTable(['NAME', 'HOST', 'PID', 'PORTS', 'STATE', 'CLOCK', 'COMMITS', 'ABORTS', 'IN-FLIGHT', 'MEMBERS', 'STRATEGY'], rows);
}

/** The classic output: the process table, then the view section when there is one. */
export function formatStatus(statuses: readonly NodeStatus[]): string[] {
  const view = formatViewSection(statuses);
  return [...formatStatusTable(statuses), ...(view.length > 0 ? ['', ...view] : [])];
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
