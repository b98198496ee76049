// One local cluster per strategy, kept for every run of that strategy (the data is
// re-created before each run instead), so a sweep pays for a cluster start only once per
// strategy, and again only after a run left its cluster unusable. Startup, stop and the
// launcher are the project's own: a benchmark cluster is an ordinary cluster.
import fs from 'node:fs';
import path from 'node:path';
import { clusterFilePath, isLoopbackHost, connectHost, readClusterFile, type ClusterFile, type Strategy } from '../cluster/cluster-file.js';
import { OccdbClient } from '../client/client.js';
import type { SchedulingPolicy } from '../runtime/scheduling.js';
import type { Status } from '../protocol/schemas.js';
import { launcherForHost } from '../startup/launcher.js';
import { clusterNodes } from '../startup/nodes.js';
import type { Output } from '../startup/output.js';
import { runStartup } from '../startup/startup.js';
import { stopCluster } from '../startup/stop.js';
import type { PidsByRole } from './measure.js';

const LOOPBACK = '127.0.0.1';
const STATUS_TIMEOUT_MS = 5_000;
/** Problem lines of a failed startup kept for the message (the rest are log tails). */
const PROBLEM_LINES_SHOWN_MAX = 6;

/**
 * Collects what startup and stop print, so the benchmark's own output stays one progress
 * line. Arrow properties, because startup passes `problem` on as a detached function.
 */
class CollectingOutput implements Output {
  readonly problems: string[] = [];
  readonly line = (): void => {};
  readonly problem = (text: string): void => {
    this.problems.push(text);
  };
}

export type ClusterState =
  | { kind: 'stopped' }
  | { kind: 'running'; clusterFile: string; cluster: ClusterFile; dir: string }
  /** Could not be started, or does not run the strategy it was started for: not tried again. */
  | { kind: 'unusable'; reason: string };

/** What a run needs of the cluster it measures: a local one the benchmark starts, or a running one. */
export interface BenchCluster {
  readonly strategy: Strategy;
  /** Ready to measure, or the reason it cannot be. */
  ensureRunning(onNote: (text: string) => void): Promise<{ ok: true } | { ok: false; reason: string }>;
  readonly cluster: ClusterFile;
  readonly clusterFile: string;
  readonly middlewareIds: number[];
  controlClient(index: number): OccdbClient;
  newClient(index: number): OccdbClient;
  pids(): PidsByRole;
  statuses(): Promise<Status[]>;
  /** Ends the benchmark's use of the cluster; returns the problems, if any. */
  stop(): Promise<string[]>;
}

export class StrategyCluster implements BenchCluster {
  private state: ClusterState = { kind: 'stopped' };
  private startCount = 0;
  /** One client per middleware for setup, read-back and status; closed when the cluster stops. */
  private controlClients: OccdbClient[] = [];

  constructor(
    readonly strategy: Strategy,
    private readonly rootDir: string,
    private readonly layout: { middlewares: number; databases: number },
    private readonly settings: { tcpOnly: boolean; scheduling: SchedulingPolicy } = { tcpOnly: false, scheduling: 'batch' },
  ) {}

  /**
   * A running, healthy cluster of this strategy: the one already running if every process
   * still answers, else a new one. Returns the reason when there can be none.
   */
  async ensureRunning(onNote: (text: string) => void): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (this.state.kind === 'unusable') return { ok: false, reason: this.state.reason };
    if (this.state.kind === 'running') {
      const problem = await this.healthProblem();
      if (problem === null) return { ok: true };
      onNote(`the ${this.strategy} cluster is unhealthy (${problem}); starting a new one`);
      await this.stop();
    }
    this.startCount += 1;
    const dir = path.join(this.rootDir, `${this.strategy}-${this.startCount}`);
    onNote(`starting the ${this.strategy} cluster (${this.layout.middlewares} middlewares, ${this.layout.databases} databases)`);
    const output = new CollectingOutput();
    let started: boolean;
    try {
      started = await runStartup({
        layout: { middlewareHosts: Array(this.layout.middlewares).fill(LOOPBACK), databaseHosts: Array(this.layout.databases).fill(LOOPBACK) },
        dir,
        strategy: this.strategy,
        logLevel: 'warn',
        tcpOnly: this.settings.tcpOnly,
        scheduling: this.settings.scheduling,
      }, output);
    } catch (error) {
      started = false;
      output.problem((error as Error).message);
      // Startup stops what it started when a process is unhealthy, but not when it throws
      // half-way: whatever the cluster file names must not outlive the benchmark.
      try {
        await stopCluster(clusterFilePath(dir), new CollectingOutput());
      } catch {
        // No readable cluster file: startup wrote none, so it started nothing.
      }
    }
    if (!started) {
      const reason = `the ${this.strategy} cluster did not start: ${output.problems.slice(0, PROBLEM_LINES_SHOWN_MAX).join(' | ') || 'no reason given'}`;
      this.state = { kind: 'unusable', reason };
      return { ok: false, reason };
    }
    const clusterFile = clusterFilePath(dir);
    const cluster = readClusterFile(clusterFile);
    this.state = { kind: 'running', clusterFile, cluster, dir };
    this.controlClients = cluster.middlewares.map((entry) => OccdbClient.connect(`MIDDLEWARE${entry.id}`, { clusterFile }));
    // A middleware that does not implement the strategy yet may still start (and run
    // another one): measuring it under this strategy's name would be a lie.
    const mismatch = await this.strategyMismatch();
    if (mismatch !== null) {
      await this.stop();
      this.state = { kind: 'unusable', reason: mismatch };
      return { ok: false, reason: mismatch };
    }
    return { ok: true };
  }

  private running(): Extract<ClusterState, { kind: 'running' }> {
    if (this.state.kind !== 'running') throw new Error(`the ${this.strategy} cluster is not running`);
    return this.state;
  }

  get cluster(): ClusterFile {
    return this.running().cluster;
  }

  get clusterFile(): string {
    return this.running().clusterFile;
  }

  get middlewareIds(): number[] {
    return this.cluster.middlewares.map((entry) => entry.id);
  }

  /** A client of MIDDLEWARE<id> kept by the cluster (do not close it). */
  controlClient(index: number): OccdbClient {
    return this.controlClients[index % this.controlClients.length]!;
  }

  /** A new client of the index-th middleware (round robin); the caller closes it. */
  newClient(index: number): OccdbClient {
    const ids = this.middlewareIds;
    return OccdbClient.connect(`MIDDLEWARE${ids[index % ids.length]}`, { clusterFile: this.clusterFile });
  }

  /** Every process's pid, by role; this process is the client. */
  pids(): PidsByRole {
    const nodes = clusterNodes(this.cluster);
    const pidsOf = (role: 'middleware' | 'database'): number[] => nodes.filter((node) => node.role === role && node.pid !== undefined).map((node) => node.pid!);
    return { middleware: pidsOf('middleware'), database: pidsOf('database'), client: [process.pid] };
  }

  async statuses(): Promise<Status[]> {
    return Promise.all(this.controlClients.map((client) => client.status(STATUS_TIMEOUT_MS)));
  }

  private async strategyMismatch(): Promise<string | null> {
    try {
      for (const status of await this.statuses()) {
        if (status.strategy !== undefined && status.strategy !== this.strategy) {
          return `MIDDLEWARE${status.id} of the ${this.strategy} cluster runs strategy '${status.strategy}', not '${this.strategy}'`;
        }
      }
      return null;
    } catch (error) {
      return `the ${this.strategy} cluster did not answer status: ${(error as Error).message}`;
    }
  }

  /** Why the running cluster cannot be used as it is, or null. */
  private async healthProblem(): Promise<string | null> {
    const { cluster } = this.running();
    for (const node of clusterNodes(cluster)) {
      if (node.pid === undefined || !(await launcherForHost(node.host).isAlive(node.pid))) return `${node.name} is not running`;
    }
    try {
      await this.statuses();
    } catch (error) {
      return (error as Error).message;
    }
    return null;
  }

  /** Stops every process and removes the cluster's directory. Returns the problems, if any. */
  async stop(): Promise<string[]> {
    if (this.state.kind !== 'running') return [];
    const { clusterFile, dir } = this.state;
    for (const client of this.controlClients) client.close();
    this.controlClients = [];
    this.state = { kind: 'stopped' };
    const output = new CollectingOutput();
    let allStopped = false;
    try {
      allStopped = await stopCluster(clusterFile, output);
    } catch (error) {
      output.problem((error as Error).message);
    }
    // A directory with a process still in it is kept: it names the pid to stop by hand.
    if (allStopped) fs.rmSync(dir, { recursive: true, force: true });
    else output.problem(`kept ${dir}: stop what is left with 'occdb stop --dir ${dir}'`);
    return output.problems;
  }
}

/**
 * A cluster that runs already (--cluster, --dir): measured as it is, never started or stopped
 * by the benchmark. CPU% covers its processes on this machine only (it is read from /proc).
 */
export class RunningCluster implements BenchCluster {
  readonly strategy: Strategy;
  readonly cluster: ClusterFile;
  private controlClients: OccdbClient[] = [];

  constructor(readonly clusterFile: string) {
    this.cluster = readClusterFile(clusterFile);
    this.strategy = this.cluster.strategy;
  }

  async ensureRunning(onNote: (text: string) => void): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (this.controlClients.length === 0) {
      onNote(`measuring the running cluster of ${this.clusterFile} (${this.strategy}, ${this.cluster.middlewares.length} middlewares, ${this.cluster.databases.length} databases)`);
      this.controlClients = this.cluster.middlewares.map((entry) => OccdbClient.connect(`MIDDLEWARE${entry.id}`, { clusterFile: this.clusterFile }));
    }
    try {
      await this.statuses();
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: `the cluster of ${this.clusterFile} did not answer status: ${(error as Error).message}` };
    }
  }

  get middlewareIds(): number[] {
    return this.cluster.middlewares.map((entry) => entry.id);
  }

  controlClient(index: number): OccdbClient {
    return this.controlClients[index % this.controlClients.length]!;
  }

  newClient(index: number): OccdbClient {
    const ids = this.middlewareIds;
    return OccdbClient.connect(`MIDDLEWARE${ids[index % ids.length]}`, { clusterFile: this.clusterFile });
  }

  pids(): PidsByRole {
    const local = clusterNodes(this.cluster).filter((node) => node.pid !== undefined && isLoopbackHost(connectHost(node.host)));
    const pidsOf = (role: 'middleware' | 'database'): number[] => local.filter((node) => node.role === role).map((node) => node.pid!);
    return { middleware: pidsOf('middleware'), database: pidsOf('database'), client: [process.pid] };
  }

  async statuses(): Promise<Status[]> {
    return Promise.all(this.controlClients.map((client) => client.status(STATUS_TIMEOUT_MS)));
  }

  /** Closes the benchmark's connections; the cluster keeps running. */
  async stop(): Promise<string[]> {
    for (const client of this.controlClients) client.close();
    this.controlClients = [];
    return [];
  }
}
