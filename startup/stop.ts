// occdb stop: middlewares first (they leave the cluster cleanly and finish what they have
// in flight, which still needs the databases), then the databases. Every wait is bounded;
// SIGKILL is the last resort, and the output says when it was used.
import { setTimeout as delay } from 'node:timers/promises';
import { readClusterFile } from '../cluster/cluster-file.js';
import { Connection } from '../protocol/connection.js';
import { type Launcher, launcherForHost } from './launcher.js';
import { Launchers, type RemoteOptions } from './launchers.js';
import { type ClusterNode, clusterNodes, findNode, recordPid } from './nodes.js';
import type { Output } from './output.js';

/** How long a process has to exit after shutdown or SIGTERM before it is killed. */
export const STOP_WAIT_MS = 15_000;
const KILL_WAIT_MS = 5_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;
const EXIT_POLL_INTERVAL_MS = 100;

export type StopOutcome = 'not-running' | 'stopped' | 'killed' | 'survived';

/** Stops one process by its recorded pid and says how it went. Never throws for a process that is gone. */
export async function stopNode(node: ClusterNode, launcher: Launcher = launcherForHost(node.host)): Promise<StopOutcome> {
  const pid = node.pid;
  if (pid === undefined || !(await launcher.isAlive(pid))) return 'not-running';
  if (node.role === 'middleware') {
    // shutdown lets the middleware leave the cluster (docs/design.md, "Membership") and exit by itself;
    // SIGTERM makes it do the same when its client port does not answer.
    const connection = new Connection(node.endpoint, node.name);
    try {
      await connection.request({ type: 'shutdown' }, SHUTDOWN_TIMEOUT_MS);
    } catch {
      await launcher.signal(pid, 'SIGTERM');
    } finally {
      connection.close();
    }
  } else {
    await launcher.signal(pid, 'SIGTERM');
  }
  if (await waitForExit(pid, launcher, STOP_WAIT_MS)) return 'stopped';
  await launcher.signal(pid, 'SIGKILL');
  return (await waitForExit(pid, launcher, KILL_WAIT_MS)) ? 'killed' : 'survived';
}

async function waitForExit(pid: number, launcher: Launcher, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  const attemptsMax = Math.ceil(waitMs / EXIT_POLL_INTERVAL_MS) + 1;
  for (let attempt = 0; attempt < attemptsMax && Date.now() < deadline; attempt += 1) {
    if (!(await launcher.isAlive(pid))) return true;
    await delay(EXIT_POLL_INTERVAL_MS);
  }
  return !(await launcher.isAlive(pid));
}

/**
 * Stops `nodes` (middlewares one at a time, so that each leave completes before the next
 * begins; then the databases together), clears their pids in the cluster file, and prints
 * one line per process that was running. Returns false if a process survived SIGKILL or
 * its host could not be reached to stop it.
 */
export async function stopNodes(
  clusterFile: string,
  nodes: readonly ClusterNode[],
  output: Output,
  launchers: Launchers,
): Promise<{ stoppedCount: number; allStopped: boolean }> {
  let stoppedCount = 0;
  let allStopped = true;
  const stopOne = async (node: ClusterNode): Promise<void> => {
    // A remote process is named with its host: its pid means nothing on this machine.
    const where = launchers.isRemote(node.host) ? ` on ${node.host}` : '';
    let outcome: StopOutcome;
    try {
      outcome = await stopNode(node, launchers.forHost(node.host));
    } catch (error) {
      allStopped = false;
      output.problem(`could not stop ${node.name} (pid ${node.pid})${where}: ${(error as Error).message}`);
      return; // Keep its pid: it may still be there to be stopped.
    }
    switch (outcome) {
      case 'not-running':
        break;
      case 'stopped':
        stoppedCount += 1;
        output.line(`stopped ${node.name} (pid ${node.pid})${where}`);
        break;
      case 'killed':
        stoppedCount += 1;
        output.problem(`${node.name} (pid ${node.pid})${where} did not exit within ${STOP_WAIT_MS / 1000} s: killed it with SIGKILL`);
        break;
      case 'survived':
        allStopped = false;
        output.problem(`${node.name} (pid ${node.pid})${where} is still running after SIGKILL`);
        return; // Keep its pid: it is still there to be stopped.
    }
    if (node.pid !== undefined) recordPid(clusterFile, node, undefined);
  };
  for (const node of nodes.filter((n) => n.role === 'middleware')) await stopOne(node);
  await Promise.all(nodes.filter((n) => n.role === 'database').map(stopOne));
  return { stoppedCount, allStopped };
}

/**
 * occdb stop [name]: the whole cluster, or one process of it, on whatever hosts they run
 * (over ssh with the settings the cluster file recorded, unless `remote` overrides them).
 * Returns false if a process could not be stopped.
 */
export async function stopCluster(clusterFile: string, output: Output, name?: string, remote: RemoteOptions = {}): Promise<boolean> {
  const cluster = readClusterFile(clusterFile);
  const nodes = name === undefined ? clusterNodes(cluster) : [findNode(cluster, name)];
  const launchers = Launchers.forCluster(cluster, remote);
  try {
    const { stoppedCount, allStopped } = await stopNodes(clusterFile, nodes, output, launchers);
    if (stoppedCount === 0 && allStopped) output.line(name === undefined ? 'nothing running' : `${nodes[0]!.name} is not running`);
    return allStopped;
  } finally {
    launchers.close();
  }
}
