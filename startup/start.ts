// Starting processes of a cluster whose file already exists: one at a time with
// `occdb start MIDDLEWARE2` (a restart), and every one of them during `occdb startup`.
import { readClusterFile } from '../cluster/cluster-file.js';
import { OccdbError } from '../errors/catalogue.js';
import type { LogLevel } from '../runtime/log.js';
import { logTails, waitUntilHealthy } from './health.js';
import { Launchers, type RemoteOptions } from './launchers.js';
import { type ClusterNode, findNode, formatPorts, launchSpec, recordPid } from './nodes.js';
import type { Output } from './output.js';
import { stopNodes } from './stop.js';

export type LaunchResult = { started: true; pid: number } | { started: false; pid: number | undefined; reason: string };

/**
 * Starts `node` detached, records its pid in the cluster file at once (so that `occdb stop`
 * finds it even if this command dies), and waits until it answers as itself.
 */
export async function launchNode(node: ClusterNode, clusterFile: string, logLevel: LogLevel, launchers: Launchers): Promise<LaunchResult> {
  const launcher = launchers.forHost(node.host);
  let pid: number;
  try {
    ({ pid } = await launcher.start(launchSpec(node, clusterFile, logLevel)));
  } catch (error) {
    return { started: false, pid: undefined, reason: (error as Error).message };
  }
  recordPid(clusterFile, node, pid);
  try {
    const health = await waitUntilHealthy(node, pid, launcher);
    return health.healthy ? { started: true, pid } : { started: false, pid, reason: health.reason };
  } catch (error) {
    // The host stopped answering ssh while the process was being watched.
    return { started: false, pid, reason: (error as Error).message };
  }
}

/**
 * Prints why `node` did not start, with the end of its log and of its stdout.log (read on its
 * host), and returns those lines.
 */
export async function reportLaunchFailure(node: ClusterNode, reason: string, output: Output, launchers: Launchers): Promise<string[]> {
  output.problem(`${node.name} on ${node.host} did not start: ${reason}`);
  let tails: string[];
  try {
    tails = await logTails(node, launchers.forHost(node.host));
  } catch (error) {
    tails = [`---- cannot read the logs in ${node.dir}: ${(error as Error).message}`];
  }
  for (const line of tails) output.problem(line);
  return tails;
}

/** occdb start <name>: starts one stopped process on its recorded ports and directory. */
export async function startNode(clusterFile: string, name: string, logLevel: LogLevel, output: Output, remote: RemoteOptions = {}): Promise<boolean> {
  const cluster = readClusterFile(clusterFile);
  const node = findNode(cluster, name);
  const launchers = Launchers.forCluster(cluster, remote);
  try {
    const launcher = launchers.forHost(node.host);
    if (node.pid !== undefined && (await launcher.isAlive(node.pid))) {
      throw new OccdbError('USAGE', `${node.name} is already running (pid ${node.pid}${launchers.isRemote(node.host) ? ` on ${node.host}` : ''})`);
    }
    const result = await launchNode(node, clusterFile, logLevel, launchers);
    if (result.started) {
      output.line(`started ${node.name} (pid ${result.pid}) on ${node.host}, ports ${formatPorts(node)}`);
      return true;
    }
    await reportLaunchFailure(node, result.reason, output, launchers);
    if (result.pid !== undefined) {
      const stopOutput: Output = { line: output.problem, problem: output.problem };
      await stopNodes(clusterFile, [{ ...node, pid: result.pid }], stopOutput, launchers);
    }
    return false;
  } finally {
    launchers.close();
  }
}
