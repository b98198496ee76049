// Starting processes of a cluster whose file already exists: one at a time with
// `occdb start MIDDLEWARE2` (a restart), and every one of them during `occdb startup`.
import { readClusterFile } from '../protocol/cluster.js';
import { OccdbError } from '../protocol/errors.js';
import type { LogLevel } from '../protocol/log.js';
import { logTails, waitUntilHealthy } from './health.js';
import { launcherForHost } from './launcher.js';
import { type ClusterNode, findNode, formatPorts, launchSpec, recordPid } from './nodes.js';
import type { Output } from './output.js';
import { stopNodes } from './stop.js';

export type LaunchResult = { started: true; pid: number } | { started: false; pid: number | undefined; reason: string };

/**
 * Starts `node` detached, records its pid in the cluster file at once (so that `occdb stop`
 * finds it even if this command dies), and waits until it answers as itself.
 */
export async function launchNode(node: ClusterNode, clusterFile: string, logLevel: LogLevel): Promise<LaunchResult> {
  const launcher = launcherForHost(node.host);
  let pid: number;
  try {
    ({ pid } = await launcher.start(launchSpec(node, clusterFile, logLevel)));
  } catch (error) {
    return { started: false, pid: undefined, reason: (error as Error).message };
  }
  recordPid(clusterFile, node, pid);
  const health = await waitUntilHealthy(node, pid, launcher);
  return health.healthy ? { started: true, pid } : { started: false, pid, reason: health.reason };
}

/** Prints why `node` did not start, with the end of its log and of its stdout.log. */
export async function reportLaunchFailure(node: ClusterNode, reason: string, output: Output): Promise<void> {
  output.problem(`${node.name} on ${node.host} did not start: ${reason}`);
  for (const line of await logTails(node, launcherForHost(node.host))) output.problem(line);
}

/** occdb start <name>: starts one stopped process on its recorded ports and directory. */
export async function startNode(clusterFile: string, name: string, logLevel: LogLevel, output: Output): Promise<boolean> {
  const node = findNode(readClusterFile(clusterFile), name);
  const launcher = launcherForHost(node.host);
  if (node.pid !== undefined && (await launcher.isAlive(node.pid))) {
    throw new OccdbError('USAGE', `${node.name} is already running (pid ${node.pid})`);
  }
  const result = await launchNode(node, clusterFile, logLevel);
  if (result.started) {
    output.line(`started ${node.name} (pid ${result.pid}) on ${node.host}, ports ${formatPorts(node)}`);
    return true;
  }
  await reportLaunchFailure(node, result.reason, output);
  if (result.pid !== undefined) {
    const stopOutput: Output = { line: output.problem, problem: output.problem };
    await stopNodes(clusterFile, [{ ...node, pid: result.pid }], stopOutput);
  }
  return false;
}
