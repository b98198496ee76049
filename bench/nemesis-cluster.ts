// The cluster a nemesis run breaks: 3 middlewares and 3 databases (or as many as asked) on this
// machine, and the faults done to one process of it. Two ways to run it:
//
// - on loopback, started by `occdb startup`'s own code: kill and pause work, partition cannot
//   (every process shares the loopback interface, and there is no firewall here to cut one off);
// - in network namespaces (bench/namespaces.ts), one per process, joined by a bridge, each
//   process started by the launcher through `ip netns exec`: partition takes the process's veth
//   link down. The processes talk TCP only (a Unix socket would cross the partition). Needs root.
//
// Either way the cluster file is an ordinary one: `occdb status --dir D` and `occdb verify --dir D`
// work on it while it runs. `occdb stop` and `occdb start` would take the namespaces' addresses
// for other machines (and use ssh), so the nemesis starts, restarts and stops the processes
// itself, through the launcher, and removes the namespaces whatever happens.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { clusterFilePath, connectHost, readClusterFile, writeClusterFile, type ClusterFile, type Strategy } from '../cluster/cluster-file.js';
import { ensureSecret } from '../cluster/secret.js';
import { Connection } from '../protocol/connection.js';
import type { LogLevel } from '../runtime/log.js';
import { LocalLauncher, type Launcher } from '../startup/launcher.js';
import { Launchers } from '../startup/launchers.js';
import { type ClusterNode, clusterNodes, findNode, logFile } from '../startup/nodes.js';
import type { Output } from '../startup/output.js';
import { launchNode } from '../startup/start.js';
import { runStartup } from '../startup/startup.js';
import { collectStatus, statusReport } from '../startup/status.js';
import { stopNodes } from '../startup/stop.js';
import { createNamespaceNetwork, namespaceCommand, type NamespaceHost, type NamespaceNetwork } from './namespaces.js';

const LOOPBACK = '127.0.0.1';
const STATUS_TIMEOUT_MS = 1_000;
/**
 * A request's timeout starts once its connection is made, and making one to a process cut off
 * the network takes up to protocol/connection.ts's connect timeout (5 s): the nemesis's own
 * questions are cut short at a deadline instead (the attempt ends on its own later). A status
 * round of the whole cluster bounds each process's answer by itself; this is a safety net.
 */
const STATUS_ROUND_MS = 2_000;
const SIGNAL_WAIT_MS = 5_000;
const POLL_MS = 100;
/** Inside its own namespace a process has every port to itself: the same ones serve every node. */
const NAMESPACE_PORTS = { client: 7101, peer: 7102, database: 7201 };
/** Where the namespaces and the bridge are recorded, for a clean-up by hand if the nemesis itself was killed. */
export const NETWORK_FILE_NAME = 'network.json';

/** The launchers of a namespace cluster: each namespace's address starts its processes in that namespace. */
class NamespaceLaunchers extends Launchers {
  constructor(private readonly byAddress: ReadonlyMap<string, Launcher>) {
    super();
  }

  override isRemote(host: string): boolean {
    return !this.byAddress.has(connectHost(host)) && super.isRemote(host);
  }

  override forHost(host: string): Launcher {
    return this.byAddress.get(connectHost(host)) ?? super.forHost(host);
  }
}

/** How a middleware's log counts failure detection and view changes (the lines of middleware/ that say so). */
export interface LogCounts {
  suspicions: number;
  viewsInstalled: number;
  transactionsRecovered: number;
}

/** Where a process stands in the newest view, as `occdb status --json` reports it; null when status reports no views. */
export interface Standing {
  place: string | null;
  reason: string | null;
  /** A database: whether it is joining (being brought up to date), and whether its transfer is complete. */
  sync?: { joiningSince: number; complete: boolean } | null;
}

export class NemesisCluster {
  private constructor(
    readonly dir: string,
    readonly file: string,
    readonly network: NamespaceNetwork | null,
    private readonly launchers: Launchers,
    private readonly logLevel: LogLevel,
    private readonly hostsByName: ReadonlyMap<string, NamespaceHost>,
  ) {}

  /** A loopback cluster, started as `occdb startup` starts one; throws with startup's problems if it does not start. */
  static async startOnLoopback(options: { dir: string; strategy: Strategy; middlewares: number; databases: number; logLevel: LogLevel }): Promise<NemesisCluster> {
    const problems: string[] = [];
    const output: Output = { line: () => {}, problem: (text: string) => problems.push(text) };
    const started = await runStartup({
      layout: { middlewareHosts: Array(options.middlewares).fill(LOOPBACK), databaseHosts: Array(options.databases).fill(LOOPBACK) },
      dir: options.dir,
      strategy: options.strategy,
      logLevel: options.logLevel,
      tcpOnly: false,
      scheduling: 'batch',
    }, output);
    if (!started) throw new Error(`the cluster did not start: ${problems.slice(0, 6).join(' | ')}`);
    return new NemesisCluster(options.dir, clusterFilePath(options.dir), null, new Launchers(), options.logLevel, new Map());
  }

  /**
   * A cluster whose every process has a network namespace of its own. Throws if the namespaces
   * cannot be made (the message says why) or a process does not start; leaves nothing behind then.
   */
  static async startInNamespaces(options: { dir: string; strategy: Strategy; middlewares: number; databases: number; logLevel: LogLevel }): Promise<NemesisCluster> {
    const network = await createNamespaceNetwork(options.middlewares + options.databases, '10.223');
    const file = clusterFilePath(options.dir);
    fs.mkdirSync(options.dir, { recursive: true });
    fs.writeFileSync(path.join(options.dir, NETWORK_FILE_NAME), JSON.stringify({ bridge: network.bridge, namespaces: network.hosts.map((host) => host.namespace) }, null, 2) + '\n');
    const middlewareHosts = network.hosts.slice(0, options.middlewares);
    const databaseHosts = network.hosts.slice(options.middlewares);
    const cluster: ClusterFile = {
      version: 1,
      strategy: options.strategy,
      scheduling: 'batch',
      createdAt: new Date().toISOString(),
      middlewares: middlewareHosts.map((host, index) => ({
        id: index + 1,
        host: host.address,
        clientPort: NAMESPACE_PORTS.client,
        peerPort: NAMESPACE_PORTS.peer,
        dir: path.resolve(options.dir, `middleware-${index + 1}`),
      })),
      databases: databaseHosts.map((host, index) => ({ id: index + 1, host: host.address, port: NAMESPACE_PORTS.database, dir: path.resolve(options.dir, `database-${index + 1}`) })),
    };
    for (const entry of [...cluster.middlewares, ...cluster.databases]) fs.mkdirSync(entry.dir, { recursive: true });
    writeClusterFile(file, cluster);
    ensureSecret(file);
    readClusterFile(file); // registers the cluster's keys for this process
    const launchers = new NamespaceLaunchers(new Map(network.hosts.map((host) => [host.address, new LocalLauncher(namespaceCommand(host.namespace))])));
    const hostsByName = new Map<string, NamespaceHost>();
    middlewareHosts.forEach((host, index) => hostsByName.set(`MIDDLEWARE${index + 1}`, host));
    databaseHosts.forEach((host, index) => hostsByName.set(`DATABASE${index + 1}`, host));
    const nemesisCluster = new NemesisCluster(options.dir, file, network, launchers, options.logLevel, hostsByName);
    try {
      const nodes = clusterNodes(cluster);
      const start = async (node: ClusterNode): Promise<void> => {
        const result = await launchNode(node, file, options.logLevel, launchers);
        if (!result.started) throw new Error(`${node.name} did not start in namespace ${hostsByName.get(node.name)?.namespace}: ${result.reason}`);
      };
      await Promise.all(nodes.filter((node) => node.role === 'database').map(start));
      // Middlewares one at a time, as startup does: each joins the ones already running.
      for (const node of nodes.filter((candidate) => candidate.role === 'middleware')) await start(node);
    } catch (error) {
      await nemesisCluster.stop();
      throw error;
    }
    return nemesisCluster;
  }

  get cluster(): ClusterFile {
    return readClusterFile(this.file);
  }

  node(name: string): ClusterNode {
    return findNode(this.cluster, name);
  }

  get middlewareIds(): number[] {
    return this.cluster.middlewares.map((entry) => entry.id);
  }

  /** Why `name` cannot be partitioned here, or null. */
  partitionUnavailable(name: string): string | null {
    if (this.network === null) return 'the cluster runs on loopback (no network namespaces)';
    return this.hostsByName.has(this.node(name).name) ? null : `${name} has no namespace of its own`;
  }

  /** SIGKILL, then waits (bounded) until the process is gone. */
  async kill(name: string): Promise<void> {
    const node = this.node(name);
    if (node.pid === undefined) throw new Error(`${name} has no recorded pid`);
    const launcher = this.launchers.forHost(node.host);
    await launcher.signal(node.pid, 'SIGKILL');
    for (let attempt = 0; attempt < SIGNAL_WAIT_MS / POLL_MS && (await launcher.isAlive(node.pid)); attempt++) await delay(POLL_MS);
  }

  /** Starts the process again as `occdb start` does (same ports, same directory); says why not if it does not become healthy. */
  async restart(name: string): Promise<{ started: true } | { started: false; reason: string }> {
    const result = await launchNode(this.node(name), this.file, this.logLevel, this.launchers);
    return result.started ? { started: true } : { started: false, reason: result.reason };
  }

  async signal(name: string, signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    const node = this.node(name);
    if (node.pid === undefined) throw new Error(`${name} has no recorded pid`);
    await this.launchers.forHost(node.host).signal(node.pid, signal);
  }

  async cut(name: string): Promise<void> {
    const host = this.hostsByName.get(this.node(name).name);
    if (!this.network || !host) throw new Error(`${name} cannot be partitioned: ${this.partitionUnavailable(name)}`);
    await this.network.cut(host);
  }

  /** Cuts the processes `names` off the others, while they still reach each other (and this process reaches all). */
  async isolateTogether(names: string[]): Promise<void> {
    if (!this.network) throw new Error(`a partition needs network namespaces: ${this.partitionUnavailable(names[0]!)}`);
    const hosts = names.map((name) => this.hostsByName.get(this.node(name).name)!);
    const others = this.network.hosts.filter((host) => !hosts.includes(host));
    await this.network.split([hosts, others]);
  }

  /** Undoes isolateTogether. */
  async reunite(): Promise<void> {
    await this.network?.unsplit();
  }

  async heal(name: string): Promise<void> {
    const host = this.hostsByName.get(this.node(name).name);
    if (!this.network || !host) return;
    await this.network.heal(host);
  }

  /** True when the process answers status as itself (role, id and the recorded pid) within STATUS_TIMEOUT_MS. */
  async answers(name: string): Promise<boolean> {
    const node = this.node(name);
    const connection = new Connection(node.endpoint, node.name);
    const asked = (async (): Promise<boolean> => {
      try {
        const status = await connection.request({ type: 'status' }, STATUS_TIMEOUT_MS);
        return status.role === node.role && status.id === node.id && (node.pid === undefined || status.pid === node.pid);
      } catch {
        return false;
      } finally {
        connection.close();
      }
    })();
    return withDeadline(asked, STATUS_TIMEOUT_MS, false);
  }

  /**
   * `name`'s standing in the newest view, as `occdb status --json` reports it; null when the
   * processes report no views; 'no-answer' when the status round did not end in time.
   */
  async standing(name: string): Promise<Standing | null | 'no-answer'> {
    const node = this.node(name);
    const statuses = await withDeadline(collectStatus(this.cluster, STATUS_TIMEOUT_MS), STATUS_ROUND_MS, null);
    if (statuses === null) return 'no-answer';
    const rows = statusReport(statuses) as { name: string; viewStanding?: Standing }[];
    const row = rows.find((candidate) => candidate.name === node.name);
    if (!row?.viewStanding) return null;
    const { place, reason, sync } = row.viewStanding;
    return { place, reason, ...(sync === undefined ? {} : { sync }) };
  }

  /** Totals over every middleware's log so far (a killed middleware's log goes on in its next life). */
  logCounts(): LogCounts {
    const counts: LogCounts = { suspicions: 0, viewsInstalled: 0, transactionsRecovered: 0 };
    for (const node of clusterNodes(this.cluster).filter((candidate) => candidate.role === 'middleware')) {
      let log: string;
      try {
        log = fs.readFileSync(logFile(node), 'utf8');
      } catch {
        continue;
      }
      counts.suspicions += log.match(/ suspecting /g)?.length ?? 0;
      counts.viewsInstalled += log.match(/installation of view \d+ finished/g)?.length ?? 0;
      for (const match of log.matchAll(/finished in \d+ ms: (\d+) transactions/g)) counts.transactionsRecovered += Number(match[1]);
    }
    return counts;
  }

  /**
   * Wakes and reconnects everything (a fault may still be in force after an error), stops every
   * process, and removes the namespaces. Returns the problems; never throws.
   */
  async stop(): Promise<string[]> {
    const problems: string[] = [];
    const output: Output = { line: () => {}, problem: (text: string) => problems.push(text) };
    let nodes: ClusterNode[] = [];
    try {
      nodes = clusterNodes(this.cluster);
    } catch (error) {
      problems.push(`cannot read the cluster file: ${(error as Error).message}`);
    }
    await this.network?.unsplit().catch(() => undefined);
    for (const node of nodes) {
      if (node.pid !== undefined) await this.launchers.forHost(node.host).signal(node.pid, 'SIGCONT').catch(() => undefined);
      const host = this.hostsByName.get(node.name);
      if (this.network && host) await this.network.heal(host).catch(() => undefined);
    }
    try {
      const { allStopped } = await stopNodes(this.file, nodes, output, this.launchers);
      if (!allStopped) problems.push(`some processes are still running: see ${this.file}`);
    } catch (error) {
      problems.push(`stopping the cluster: ${(error as Error).message}`);
    }
    this.launchers.close();
    if (this.network) {
      await this.network.remove();
      fs.rmSync(path.join(this.dir, NETWORK_FILE_NAME), { force: true });
    }
    return problems;
  }
}

/** `promise`'s value, or `fallback` if it has not settled within `deadlineMs`. */
function withDeadline<T>(promise: Promise<T>, deadlineMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), deadlineMs);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
