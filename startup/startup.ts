// occdb startup N host... M host...: checks every remote host, writes the cluster file, starts
// the databases, then the middlewares (locally, or over ssh on other hosts), and returns only
// when every process is healthy. If one is not, it shows why and stops everything it started:
// a failed startup leaves no process behind (unless asked to keep going).
import fs from 'node:fs';
import path from 'node:path';
import {
  type ClusterFile,
  type DatabaseEntry,
  type MiddlewareEntry,
  type Strategy,
  clusterFilePath,
  connectHost,
  isLoopbackHost,
  listenAddress,
  databaseSockets,
  middlewareSockets,
  readClusterFile,
  writeClusterFile,
} from '../cluster/cluster-file.js';
import { OccdbError, PORT_IN_USE } from '../errors/catalogue.js';
import { ensureSecret } from '../cluster/secret.js';
import { ensureTlsFiles } from './certificate.js';
import { ensureAdminUser } from '../cluster/users.js';
import type { SchedulingPolicy } from '../runtime/scheduling.js';
import type { LogFormat, LogLevel } from '../runtime/log.js';
import type { StartupLayout } from './arguments.js';
import { isLocalHost, localLauncher } from './launcher.js';
import { Launchers, type RemoteOptions } from './launchers.js';
import { type ClusterNode, clusterNodes, formatPorts } from './nodes.js';
import { type Output, formatTable } from './output.js';
import { launchNode, reportLaunchFailure } from './start.js';
import { REMOTE_OCCDB_DEFAULT, type RemoteHostFacts, type SshLauncher } from './ssh-launcher.js';
import { stopNodes } from './stop.js';

export interface StartupOptions {
  layout: StartupLayout;
  /** The cluster directory as the user wrote it (messages repeat it). */
  dir: string;
  strategy: Strategy;
  scheduling?: SchedulingPolicy | undefined;
  logLevel: LogLevel;
  /** How every process writes its log (default text); recorded in the cluster file. */
  logFormat?: LogFormat | undefined;
  /** Every process serves Prometheus metrics on a port of its own (default true). */
  metrics?: boolean | undefined;
  basePort?: number | undefined;
  /** How hosts other than localhost and 127.x.x.x are reached (ssh). */
  remote?: RemoteOptions | undefined;
  /**
   * The cluster's directory on each remote host; a relative one is under the remote home.
   * Default: .occdb/<the last part of dir>.
   */
  remoteDir?: string | undefined;
  /** When a process fails to start, keep the others running and go on starting the rest. */
  keepGoing?: boolean | undefined;
  /** Processes on one machine talk over TCP rather than Unix domain sockets. */
  tcpOnly?: boolean | undefined;
  /**
   * TLS on every TCP port: 'auto' (the default) when the cluster spans hosts, 'on' always,
   * 'off' never (--insecure).
   */
  tls?: 'auto' | 'on' | 'off' | undefined;
  /** The certificate and key to use instead of generating them (implies TLS on). */
  tlsFiles?: { certFile: string; keyFile: string } | undefined;
}

/** Whether `options` ask for TLS on the cluster they start. */
export function wantsTls(options: Pick<StartupOptions, 'tls' | 'tlsFiles' | 'layout'>): boolean {
  if (options.tlsFiles !== undefined || options.tls === 'on') return true;
  if (options.tls === 'off') return false;
  return [...options.layout.middlewareHosts, ...options.layout.databaseHosts].some((host) => !isLoopbackHost(connectHost(host)));
}

/** Returns true when every process is up; false (after stopping them all, unless keepGoing) otherwise. */
export async function runStartup(options: StartupOptions, output: Output): Promise<boolean> {
  const launchers = new Launchers(options.remote ?? {});
  try {
    return await startCluster(options, output, launchers);
  } finally {
    launchers.close();
  }
}

/**
 * How many times startup chooses ports: a port drawn free can be taken by another program
 * before the process that should listen there starts (clusters started side by side).
 */
const PORT_ATTEMPTS = 3;

async function startCluster(options: StartupOptions, output: Output, launchers: Launchers): Promise<boolean> {
  const { layout } = options;
  // Every remote host is reached, and its occdb found, before anything is written or started.
  const homes = await checkRemoteHosts([...layout.middlewareHosts, ...layout.databaseHosts], launchers);
  const clusterFile = clusterFilePath(options.dir);
  await refuseRunningCluster(clusterFile, options.dir, options.remote ?? {});
  for (let attempt = 1; ; attempt += 1) {
    const cluster = await planCluster(options, homes, launchers);
    const outcome = await launchCluster(cluster, clusterFile, options, output, launchers);
    if (outcome !== 'port-taken') return outcome === 'started';
    // Ports given with --base-port are the user's: never replaced.
    if (options.basePort !== undefined || attempt === PORT_ATTEMPTS) return false;
    output.problem(`a port was taken by another program between choosing it and starting the process; choosing new ports (attempt ${attempt + 1} of ${PORT_ATTEMPTS})`);
  }
}

type LaunchOutcome = 'started' | 'failed' | 'port-taken';

/**
 * Writes the cluster file and starts its processes. On a failure (unless keepGoing) stops
 * the ones started, and says whether only taken ports were to blame.
 */
async function launchCluster(planned: ClusterFile, clusterFile: string, options: StartupOptions, output: Output, launchers: Launchers): Promise<LaunchOutcome> {
  let cluster = planned;
  fs.mkdirSync(path.dirname(clusterFile), { recursive: true });
  // The cluster's secret, its operator's user and its TLS certificate, kept when the
  // directory already has them.
  ensureSecret(clusterFile);
  ensureAdminUser(clusterFile, new Date());
  if (wantsTls(options)) cluster = { ...cluster, tls: { fingerprint: await ensureTlsFiles(clusterFile, options.tlsFiles) } };
  // Remote directories are made by the ssh launcher when it starts the process there.
  for (const entry of [...cluster.middlewares, ...cluster.databases]) if (entry.clusterFile === undefined) fs.mkdirSync(entry.dir, { recursive: true });
  // The processes read the cluster file when they start, so it must exist before them
  // (a remote host gets its copy as its first process starts).
  writeClusterFile(clusterFile, cluster);

  const nodes = clusterNodes(cluster);
  const failed: ClusterNode[] = [];
  let portTaken = true;
  const launch = async (node: ClusterNode): Promise<boolean> => {
    const result = await launchNode(node, clusterFile, options.logLevel, launchers);
    if (!result.started) {
      failed.push(node);
      const tails = await reportLaunchFailure(node, result.reason, output, launchers);
      if (!tails.some((line) => line.includes(PORT_IN_USE))) portTaken = false;
    }
    return result.started;
  };

  // Databases are independent of each other: start them together.
  await Promise.all(nodes.filter((n) => n.role === 'database').map(launch));
  // Middlewares one at a time: each joins the members already running (docs/design.md,
  // Membership), so joins never race each other.
  for (const node of nodes.filter((n) => n.role === 'middleware')) {
    if (failed.length > 0 && !options.keepGoing) break;
    await launch(node);
  }

  const recorded = clusterNodes(readClusterFile(clusterFile));
  if (failed.length > 0 && !options.keepGoing) {
    output.problem('stopping the processes that were started');
    const stopOutput: Output = { line: output.problem, problem: output.problem };
    await stopNodes(clusterFile, recorded, stopOutput, launchers);
    return portTaken ? 'port-taken' : 'failed';
  }
  const rows = recorded.map((node) => [node.name, node.host, String(node.pid ?? '-'), formatPorts(node), node.dir]);
  for (const line of formatTable(['NAME', 'HOST', 'PID', 'PORTS', 'DIR'], rows)) output.line(line);
  output.line(`cluster file ${clusterFile} (strategy ${cluster.strategy}); stop it with: occdb stop --dir ${options.dir}`);
  if (failed.length > 0) {
    output.problem(`${failed.length === 1 ? '1 process' : `${failed.length} processes`} did not start (${failed.map((node) => node.name).join(', ')}); the others keep running (--keep-going)`);
    return 'failed';
  }
  return 'started';
}

/**
 * Connects to every remote host (one connection per destination) and checks its occdb; the
 * first problem, in the order the hosts were given, is thrown. Returns each remote host's home.
 */
async function checkRemoteHosts(hosts: readonly string[], launchers: Launchers): Promise<Map<string, string>> {
  const remoteHosts = [...new Set(hosts.filter((host) => launchers.isRemote(host)))];
  // Hosts that name the same destination share one launcher, and so one check.
  const checks = new Map<SshLauncher, Promise<RemoteHostFacts>>();
  const factsOf = (host: string): Promise<RemoteHostFacts> => {
    const launcher = launchers.remoteLauncher(host);
    const check = checks.get(launcher) ?? launcher.check();
    checks.set(launcher, check);
    return check;
  };
  const settled = await Promise.allSettled(remoteHosts.map(factsOf));
  const homes = new Map<string, string>();
  remoteHosts.forEach((host, index) => {
    const outcome = settled[index]!;
    if (outcome.status === 'rejected') throw outcome.reason;
    homes.set(host, outcome.value.home);
  });
  return homes;
}

async function refuseRunningCluster(clusterFile: string, dir: string, remote: RemoteOptions): Promise<void> {
  if (!fs.existsSync(clusterFile)) return;
  // A file that cannot be read might name running processes: refuse rather than guess.
  const existing = readClusterFile(clusterFile);
  const launchers = Launchers.forCluster(existing, remote);
  try {
    for (const node of clusterNodes(existing)) {
      if (node.pid !== undefined && (await launchers.forHost(node.host).isAlive(node.pid))) {
        throw new OccdbError('USAGE', `a cluster is already running in ${dir}; run occdb stop --dir ${dir} first`);
      }
    }
  } finally {
    launchers.close();
  }
}

/** The name of the cluster on remote hosts: the last part of its local directory, without leading dots. */
export function clusterName(dir: string): string {
  return path.basename(path.resolve(dir)).replace(/^\.+/, '') || 'cluster';
}

/** The cluster's directory on a remote host whose home is `home`. */
export function remoteClusterDir(remoteDir: string, home: string): string {
  const expanded = remoteDir === '~' ? home : remoteDir.replace(/^~\//, `${home}/`);
  return path.posix.resolve(home, expanded);
}

/** The new cluster file: ids from 1, ports per machine, absolute directories on each process's host. */
async function planCluster(options: StartupOptions, homes: ReadonlyMap<string, string>, launchers: Launchers): Promise<ClusterFile> {
  const { middlewareHosts, databaseHosts } = options.layout;
  const root = path.resolve(options.dir);
  const remoteDir = options.remoteDir ?? `.occdb/${clusterName(options.dir)}`;
  const remoteRoot = (host: string): string => remoteClusterDir(remoteDir, homes.get(host)!);

  // Ports are chosen per machine (the address its processes are reached at), so that two
  // processes on one machine never get the same port, whichever names they were given.
  const machines = new Map<string, { hosts: string[]; count: number }>();
  const need = (host: string, count: number): void => {
    const machine = connectHost(host);
    const entry = machines.get(machine) ?? { hosts: [], count: 0 };
    entry.hosts.push(host);
    entry.count += count;
    machines.set(machine, entry);
  };
  // A middleware needs a client and a peer port, a database one port; each one more for its metrics.
  const metrics = options.metrics ?? true;
  middlewareHosts.forEach((host) => need(host, metrics ? 3 : 2));
  databaseHosts.forEach((host) => need(host, metrics ? 2 : 1));
  const freePorts = new Map<string, number[]>();
  await Promise.all([...machines].map(async ([machine, { hosts, count }]) => {
    // A machine named locally is probed here; otherwise on the machine, over ssh.
    const localHost = hosts.find(isLocalHost);
    const host = localHost ?? hosts[0]!;
    const launcher = localHost !== undefined ? localLauncher : launchers.remoteLauncher(host);
    freePorts.set(machine, await launcher.freePorts(count, listenAddress(host), options.basePort));
  }));
  const takePort = (host: string): number => freePorts.get(connectHost(host))!.shift()!;

  const place = (host: string, name: string): { dir: string; clusterFile?: string } => {
    if (!launchers.isRemote(host)) return { dir: path.join(root, name) };
    return { dir: path.posix.join(remoteRoot(host), name), clusterFile: path.posix.join(remoteRoot(host), 'cluster.json') };
  };
  // Unix sockets in each process's directory, unless TCP only was asked for.
  const join = (host: string) => (launchers.isRemote(host) ? path.posix.join : path.join);
  const middleware = (host: string, index: number): MiddlewareEntry => {
    const placed = place(host, `middleware-${index + 1}`);
    const sockets = options.tcpOnly ? {} : middlewareSockets(placed.dir, join(host));
    const ports = { clientPort: takePort(host), peerPort: takePort(host), ...(metrics ? { metricsPort: takePort(host) } : {}) };
    return { id: index + 1, host, ...ports, ...placed, ...sockets };
  };
  const database = (host: string, index: number): DatabaseEntry => {
    const placed = place(host, `database-${index + 1}`);
    const sockets = options.tcpOnly ? {} : databaseSockets(placed.dir, join(host));
    const ports = { port: takePort(host), ...(metrics ? { metricsPort: takePort(host) } : {}) };
    return { id: index + 1, host, ...ports, ...placed, ...sockets };
  };
  const remote = options.remote ?? {};
  const anyRemote = [...middlewareHosts, ...databaseHosts].some((host) => launchers.isRemote(host));
  return {
    version: 1,
    strategy: options.strategy,
    scheduling: options.scheduling ?? 'batch',
    ...(options.logFormat === 'json' ? { logFormat: 'json' as const } : {}),
    createdAt: new Date().toISOString(),
    middlewares: middlewareHosts.map(middleware),
    databases: databaseHosts.map(database),
    ...(anyRemote
      ? {
          ssh: {
            remoteOccdb: remote.remoteOccdb ?? REMOTE_OCCDB_DEFAULT,
            ...(remote.identityFile === undefined ? {} : { identityFile: remote.identityFile }),
            ...(remote.knownHostsFile === undefined ? {} : { knownHostsFile: remote.knownHostsFile }),
          },
        }
      : {}),
  };
}
