// A real cluster of database and middleware processes on loopback for end-to-end tests.
// Every process is a child of the test and is killed by PID in stop(), whatever happened.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { parseCommandFile } from '../../client/parser.js';
import { runBlocks } from '../../client/run.js';
import { Connection } from '../../protocol/connection.js';
import { databaseEndpoint, middlewareClientEndpoint, type ClusterFile, type Strategy } from '../../cluster/cluster-file.js';
import { type Status, type TxnResult } from '../../protocol/schemas.js';
import type { SuiteCluster } from '../suites/transactional.js';
import { scanReplica } from '../../bench/bank-markers.js';
import { PORT_IN_USE } from '../../errors/catalogue.js';
import { capturedOutput, killProcess, spawnOccdb, waitForExit, waitForPing, writeTestCluster } from './processes.js';

export interface ClusterOptions {
  middlewares: number;
  databases: number;
  strategy?: Strategy;
  /** Extra arguments per middleware id, e.g. faults for tests of the checkers. */
  middlewareArguments?: (id: number) => string[];
  /** Extra arguments per database id, e.g. `--fault skip-fencing`. */
  databaseArguments?: (id: number) => string[];
  /** Processes talk over TCP only (by default they also listen on Unix sockets, and use them). */
  tcpOnly?: boolean;
}

const START_TIMEOUT_MS = 30_000;
/** Starts on newly drawn ports after one that was taken meanwhile, at most this many in all. */
const START_ATTEMPTS = 3;

export class TestCluster implements SuiteCluster {
  readonly kind = 'processes';
  readonly middlewareProcesses = new Map<number, ChildProcess>();
  readonly databaseProcesses = new Map<number, ChildProcess>();
  private readonly connections: Connection[] = [];

  private constructor(readonly dir: string, readonly file: string, readonly cluster: ClusterFile, private readonly options: ClusterOptions) {}

  get middlewareIds(): number[] {
    return this.cluster.middlewares.map((middleware) => middleware.id);
  }

  get databaseIds(): number[] {
    return this.cluster.databases.map((database) => database.id);
  }

  static async start(options: ClusterOptions): Promise<TestCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await TestCluster.startOnce(options);
      } catch (error) {
        // A port drawn free was taken by another test's cluster before ours bound it (tests run
        // side by side): the processes said so; start again on newly drawn ports.
        if (attempt >= START_ATTEMPTS || !(error as Error).message.includes(PORT_IN_USE)) throw error;
      }
    }
  }

  private static async startOnce(options: ClusterOptions): Promise<TestCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-e2e-'));
    const { file, cluster } = await writeTestCluster(dir, { middlewares: options.middlewares, databases: options.databases, strategy: options.strategy ?? 'occ', tcpOnly: options.tcpOnly ?? false });
    const testCluster = new TestCluster(dir, file, cluster, options);
    try {
      await Promise.all(cluster.databases.map((database) => testCluster.startDatabase(database.id)));
      // One after another: each joins the ones already running.
      for (const middleware of cluster.middlewares) await testCluster.startMiddleware(middleware.id);
    } catch (error) {
      await testCluster.stop();
      throw error;
    }
    return testCluster;
  }

  async startDatabase(id: number): Promise<void> {
    const extra = this.options.databaseArguments?.(id) ?? [];
    const child = spawnOccdb(['database', String(id), '--cluster', this.file, '--log-level', 'warn', ...extra]);
    this.databaseProcesses.set(id, child);
    const entry = this.cluster.databases.find((database) => database.id === id)!;
    await waitForPing(databaseEndpoint(entry), START_TIMEOUT_MS, child).catch((error) => {
      throw new Error(`DATABASE${id} did not start: ${(error as Error).message}\n${capturedOutput(child).stderr}`);
    });
    await this.assertIdentity(databaseEndpoint(entry), 'database', id, child);
  }

  async startMiddleware(id: number): Promise<void> {
    const extra = this.options.middlewareArguments?.(id) ?? [];
    const child = spawnOccdb(['middleware', String(id), '--cluster', this.file, '--log-level', 'debug', '--quiet', ...extra]);
    this.middlewareProcesses.set(id, child);
    const entry = this.cluster.middlewares.find((middleware) => middleware.id === id)!;
    await waitForPing(middlewareClientEndpoint(entry), START_TIMEOUT_MS, child).catch((error) => {
      throw new Error(`MIDDLEWARE${id} did not start: ${(error as Error).message}\n${capturedOutput(child).stderr}`);
    });
    await this.assertIdentity(middlewareClientEndpoint(entry), 'middleware', id, child);
  }

  /** The process answering on the port must be ours: with clusters started side by side, a port may have been taken. */
  private async assertIdentity(endpoint: { host: string; port: number }, role: 'database' | 'middleware', id: number, child: ChildProcess): Promise<void> {
    const connection = new Connection(endpoint, `${role} ${id}`);
    try {
      const status = await connection.request({ type: 'status' }, 10_000);
      if (status.role !== role || status.id !== id || status.pid !== child.pid) {
        throw new Error(`${endpoint.host}:${endpoint.port} is answered by ${status.role} ${status.id} (pid ${status.pid}), not by our ${role} ${id} (pid ${child.pid})`);
      }
    } finally {
      connection.close();
    }
  }

  /** A new connection to MIDDLEWARE<id>'s client port (closed by stop()). */
  connect(id: number): Connection {
    const entry = this.cluster.middlewares.find((middleware) => middleware.id === id)!;
    const connection = new Connection(middlewareClientEndpoint(entry), `MIDDLEWARE${id}`);
    this.connections.push(connection);
    return connection;
  }

  /** Runs command text as a file on MIDDLEWARE<id>, over `connection` if given. */
  async run(id: number, text: string, connection?: Connection): Promise<TxnResult[]> {
    return runBlocks(connection ?? this.connect(id), parseCommandFile(text, 'test'), { timeoutMs: 120_000 });
  }

  async status(id: number): Promise<Status> {
    return this.connect(id).request({ type: 'status' }, 5_000);
  }

  /** Every entry of one replica, tombstones included. */
  scan(databaseId: number): Promise<Map<string, string>> {
    return scanReplica(this.cluster, databaseId);
  }

  /** Keys on which the replicas disagree (empty when all agree). */
  async divergentKeys(): Promise<string[]> {
    const scans = await Promise.all(this.cluster.databases.map((database) => this.scan(database.id)));
    const keys = new Set(scans.flatMap((scan) => [...scan.keys()]));
    return [...keys].filter((key) => scans.some((scan) => scan.get(key) !== scans[0]!.get(key)));
  }

  /** Runs `occdb verify --json` on this cluster's file: its exit code and what it printed. */
  async occdbVerify(timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawnOccdb(['verify', '--cluster', this.file, '--json']);
    try {
      const exit = await waitForExit(child, timeoutMs);
      if (!exit) throw new Error(`occdb verify did not end within ${timeoutMs} ms`);
      return { code: exit.code, ...capturedOutput(child) };
    } finally {
      await killProcess(child, 'SIGKILL');
    }
  }

  /** Sends `signal` to MIDDLEWARE<id>'s process (SIGKILL, SIGSTOP, SIGCONT, ...); its PID. */
  signalMiddleware(id: number, signal: NodeJS.Signals): number {
    return signalChild(this.middlewareProcesses.get(id), `MIDDLEWARE${id}`, signal);
  }

  /** Sends `signal` to DATABASE<id>'s process (SIGKILL, SIGSTOP, SIGCONT, ...); its PID. */
  signalDatabase(id: number, signal: NodeJS.Signals): number {
    return signalChild(this.databaseProcesses.get(id), `DATABASE${id}`, signal);
  }

  middlewareLog(id: number): string {
    const entry = this.cluster.middlewares.find((middleware) => middleware.id === id)!;
    try {
      return fs.readFileSync(path.join(entry.dir, 'middleware.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    for (const connection of this.connections) connection.close();
    await Promise.all([...this.middlewareProcesses.values()].map((child) => killProcess(child, 'SIGKILL')));
    await Promise.all([...this.databaseProcesses.values()].map((child) => killProcess(child, 'SIGKILL')));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Sends `signal` to `child`, the process of `name`; its PID. Throws if it was not started or has exited. */
function signalChild(child: ChildProcess | undefined, name: string, signal: NodeJS.Signals): number {
  if (!child || child.pid === undefined) throw new Error(`${name} was not started`);
  if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} (pid ${child.pid}) has exited already (${child.exitCode ?? child.signalCode})`);
  child.kill(signal);
  return child.pid;
}

/** The printed values of a result, in order. */
export function printed(result: TxnResult): string[] {
  return result.results.flatMap((line) => (line.kind === 'print' ? [line.value] : []));
}
