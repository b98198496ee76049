// occdb startup N host... M host...: writes the cluster file, starts the databases, then the
// middlewares, and returns only when every process is healthy. If one is not, it shows why
// and stops everything it started: a failed startup leaves no process behind.
import fs from 'node:fs';
import path from 'node:path';
import {
  type ClusterFile,
  type Strategy,
  clusterFilePath,
  listenAddress,
  readClusterFile,
  writeClusterFile,
} from '../protocol/cluster.js';
import { OccdbError } from '../protocol/errors.js';
import type { LogLevel } from '../protocol/log.js';
import type { StartupLayout } from './arguments.js';
import { launcherForHost } from './launcher.js';
import { type ClusterNode, clusterNodes, formatPorts } from './nodes.js';
import { type Output, formatTable } from './output.js';
import { allocatePorts } from './ports.js';
import { launchNode, reportLaunchFailure } from './start.js';
import { stopNodes } from './stop.js';

export interface StartupOptions {
  layout: StartupLayout;
  /** The cluster directory as the user wrote it (messages repeat it). */
  dir: string;
  strategy: Strategy;
  logLevel: LogLevel;
  basePort?: number;
}

/** Returns true when every process is up; false (after stopping them all) otherwise. */
export async function runStartup(options: StartupOptions, output: Output): Promise<boolean> {
  const { layout } = options;
  // Every host must have a launcher before anything is written or started.
  for (const host of [...layout.middlewareHosts, ...layout.databaseHosts]) launcherForHost(host);
  const clusterFile = clusterFilePath(options.dir);
  await refuseRunningCluster(clusterFile, options.dir);

  const cluster = await planCluster(options);
  fs.mkdirSync(path.dirname(clusterFile), { recursive: true });
  for (const entry of [...cluster.middlewares, ...cluster.databases]) fs.mkdirSync(entry.dir, { recursive: true });
  // The processes read the cluster file when they start, so it must exist before them.
  writeClusterFile(clusterFile, cluster);

  const nodes = clusterNodes(cluster);
  const launch = async (node: ClusterNode): Promise<boolean> => {
    const result = await launchNode(node, clusterFile, options.logLevel);
    if (!result.started) await reportLaunchFailure(node, result.reason, output);
    return result.started;
  };

  // Databases are independent of each other: start them together.
  const databases = await Promise.all(nodes.filter((n) => n.role === 'database').map(launch));
  let healthy = databases.every(Boolean);
  // Middlewares one at a time: each joins the members already running (DESIGN.md,
  // Membership), so joins never race each other.
  for (const node of healthy ? nodes.filter((n) => n.role === 'middleware') : []) {
    if (!(await launch(node))) {
      healthy = false;
      break;
    }
  }

  const recorded = clusterNodes(readClusterFile(clusterFile));
  if (!healthy) {
    output.problem('stopping the processes that were started');
    const stopOutput: Output = { line: output.problem, problem: output.problem };
    await stopNodes(clusterFile, recorded, stopOutput);
    return false;
  }
  const rows = recorded.map((node) => [node.name, node.host, String(node.pid ?? '-'), formatPorts(node), node.dir]);
  for (const line of formatTable(['NAME', 'HOST', 'PID', 'PORTS', 'DIR'], rows)) output.line(line);
  output.line(`cluster file ${clusterFile} (strategy ${cluster.strategy}); stop it with: occdb stop --dir ${options.dir}`);
  return true;
}

async function refuseRunningCluster(clusterFile: string, dir: string): Promise<void> {
  if (!fs.existsSync(clusterFile)) return;
  // A file that cannot be read might name running processes: refuse rather than guess.
  const existing = readClusterFile(clusterFile);
  for (const node of clusterNodes(existing)) {
    if (node.pid !== undefined && (await launcherForHost(node.host).isAlive(node.pid))) {
      throw new OccdbError('USAGE', `a cluster is already running in ${dir}; run occdb stop --dir ${dir} first`);
    }
  }
}

/** The new cluster file: ids from 1, ports per listen address, absolute directories. */
async function planCluster(options: StartupOptions): Promise<ClusterFile> {
  const { middlewareHosts, databaseHosts } = options.layout;
  const root = path.resolve(options.dir);
  // Ports are chosen per address the processes listen on; a middleware needs two.
  const portsNeeded = new Map<string, number>();
  const need = (host: string, count: number): void => {
    portsNeeded.set(listenAddress(host), (portsNeeded.get(listenAddress(host)) ?? 0) + count);
  };
  middlewareHosts.forEach((host) => need(host, 2));
  databaseHosts.forEach((host) => need(host, 1));
  const freePorts = new Map<string, number[]>();
  for (const [address, count] of portsNeeded) freePorts.set(address, await allocatePorts(count, address, options.basePort));
  const takePort = (host: string): number => freePorts.get(listenAddress(host))!.shift()!;

  return {
    version: 1,
    strategy: options.strategy,
    createdAt: new Date().toISOString(),
    middlewares: middlewareHosts.map((host, index) => ({
      id: index + 1,
      host,
      clientPort: takePort(host),
      peerPort: takePort(host),
      dir: path.join(root, `middleware-${index + 1}`),
    })),
    databases: databaseHosts.map((host, index) => ({
      id: index + 1,
      host,
      port: takePort(host),
      dir: path.join(root, `database-${index + 1}`),
    })),
  };
}
