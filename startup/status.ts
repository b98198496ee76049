// occdb status: asks every process of the cluster for its status, all at once, each with a
// short timeout, and prints one row per process.
import { type ClusterFile } from '../cluster/cluster-file.js';
import { Connection } from '../protocol/connection.js';
import { type Status } from '../protocol/schemas.js';
import { type ClusterNode, clusterNodes, formatPorts } from './nodes.js';
import { type Output, formatTable } from './output.js';

const STATUS_TIMEOUT_MS = 2_000;

export interface NodeStatus {
  node: ClusterNode;
  state: 'up' | 'down';
  /** The process's own answer, when it is up. */
  status?: Status;
  /** Why it counts as down. */
  problem?: string;
}

export async function collectStatus(cluster: ClusterFile, timeoutMs = STATUS_TIMEOUT_MS): Promise<NodeStatus[]> {
  return Promise.all(clusterNodes(cluster).map(async (node): Promise<NodeStatus> => {
    const connection = new Connection(node.endpoint, node.name);
    try {
      const status = await connection.request({ type: 'status' }, timeoutMs);
      // Another process on the recorded port (say, of another cluster) is not this node.
      if (status.role !== node.role || status.id !== node.id) {
        return { node, state: 'down', problem: `port ${node.endpoint.port} is answered by ${status.role.toUpperCase()}${status.id}` };
      }
      return { node, state: 'up', status };
    } catch (error) {
      return { node, state: 'down', problem: (error as Error).message };
    } finally {
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

/** Prints the status of every process; returns true when all are up. */
export async function runStatus(cluster: ClusterFile, json: boolean, output: Output): Promise<boolean> {
  const statuses = await collectStatus(cluster);
  if (json) {
    const report = statuses.map(({ node, state, status, problem }) => ({
      name: node.name,
      role: node.role,
      id: node.id,
      host: node.host,
      pid: status?.pid ?? node.pid ?? null,
      ports: node.ports,
      state,
      ...(status ? { status } : {}),
      ...(problem ? { problem } : {}),
    }));
    output.line(JSON.stringify(report, null, 2));
  } else {
    for (const line of formatStatusTable(statuses)) output.line(line);
    for (const { node, problem } of statuses) if (problem) output.problem(`${node.name} is down: ${problem}`);
  }
  return statuses.every((s) => s.state === 'up');
}
