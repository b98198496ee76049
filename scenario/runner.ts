// Runs scenarios against a cluster: setup alone, then each step in order (the clients of a
// step concurrently, each after its startAfterMs; or an action on a database), then reads the
// final state through every middleware, compares the replicas, and checks the expectations.
// With no cluster given, it starts a local one per strategy (3 middlewares, 3 databases, in a
// temporary directory) with the project's own startup, and stops it at the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Block } from '../client/parser.js';
import { formatClassic } from '../client/format.js';
import { MiddlewareUnreachableError, runBlocks } from '../client/run.js';
import {
  STRATEGIES,
  type ClusterFile,
  type Strategy,
  clusterFilePath,
  findDatabase,
  findMiddleware,
  middlewareClientEndpoint,
  readClusterFile,
} from '../cluster/cluster-file.js';
import { Connection } from '../protocol/connection.js';
import { OccdbError } from '../errors/catalogue.js';
import { type Command, type TxnResult } from '../protocol/schemas.js';
import { Launchers } from '../startup/launchers.js';
import { clusterNodes } from '../startup/nodes.js';
import type { Output } from '../startup/output.js';
import { startNode } from '../startup/start.js';
import { runStartup } from '../startup/startup.js';
import { stopCluster } from '../startup/stop.js';
import { verifyReplicas } from '../startup/verify.js';
import { evaluate } from './expectations.js';
import { KEY_PREFIX_LENGTH_MAX, type ActionStep, type ClientSpec, type Scenario } from './manifest.js';
import {
  RESULTS_FORMAT,
  RESULTS_FORMAT_VERSION,
  machineFacts,
  type ActionStepRun,
  type ClientRun,
  type EntryReading,
  type FinalReading,
  type MiddlewareReading,
  type ReplicaComparison,
  type ScenarioResults,
  type ScenarioRun,
  type SkippedRun,
} from './report.js';

const LOCAL_HOST = '127.0.0.1';
const LOCAL_MIDDLEWARES = 3;
const LOCAL_DATABASES = 3;
/** How long a killed database may take to be gone before the kill counts as failed. */
const KILL_WAIT_MS = 10_000;
const KILL_POLL_MS = 50;
const FINAL_READ_TIMEOUT_MS = 30_000;
const PING_TIMEOUT_MS = 5_000;
/** Problem lines of a failed startup kept in the message (the rest are log tails). */
const PROBLEM_LINES_SHOWN_MAX = 6;

/** Collects what startup, start and stop print, for messages; the runner's own output stays short. */
class CollectingOutput implements Output {
  readonly lines: string[] = [];
  readonly problems: string[] = [];
  // Arrow properties: startup hands `problem` on as a detached function.
  readonly line = (text: string): void => {
    this.lines.push(text);
  };
  readonly problem = (text: string): void => {
    this.problems.push(text);
  };
}

// ---- entry names ----

let runCount = 0;

/**
 * A prefix no earlier run has used, on this cluster or any other: `r`, the time and two random
 * characters in base 36, and this process's run count. Every entry of a run is
 * `<prefix><name>`, so runs on one cluster never see each other's entries, and a run starts
 * from entries that do not exist, as on a fresh cluster.
 */
export function newKeyPrefix(): string {
  runCount += 1;
  const prefix = `r${Date.now().toString(36)}${randomInt(36 * 36).toString(36).padStart(2, '0')}${runCount.toString(36)}_`;
  if (prefix.length > KEY_PREFIX_LENGTH_MAX) throw new Error(`key prefix ${prefix} is longer than ${KEY_PREFIX_LENGTH_MAX}`);
  return prefix;
}

/** Client output with the run's prefix taken off the entry names it mentions (the prefix is unique to the run). */
export function withoutKeyPrefix(text: string, prefix: string): string {
  return text.split(prefix).join('');
}

/** The blocks with every entry name prefixed; literals, lines and everything else unchanged. */
export function withKeyPrefix(blocks: readonly Block[], prefix: string): Block[] {
  const entry = (operand: string | number): string | number => (typeof operand === 'string' ? prefix + operand : operand);
  const rename = (command: Command): Command => {
    switch (command.op) {
      case 'ASSIGN': return { ...command, target: prefix + command.target, source: entry(command.source) };
      case 'ADD': return { ...command, target: prefix + command.target, left: entry(command.left), right: entry(command.right) };
      case 'PRINT': return { ...command, source: entry(command.source) };
      case 'DELETE': return { ...command, target: prefix + command.target };
      default: return command;
    }
  };
  return blocks.map((block) => ({ ...block, commands: block.commands.map(rename) }));
}

// ---- one scenario ----

export interface RunOptions {
  strategy: Strategy;
  /** True when the runner started the cluster (it is then stopped by the runner, not the user). */
  startedHere: boolean;
  keyPrefix?: string;
  /** When aborted, no further step starts; the run ends with the error `interrupted`. */
  signal?: AbortSignal;
}

/** Runs one scenario on the cluster of `clusterFile` and checks its expectations. Never throws for a failure of the run. */
export async function runScenario(scenario: Scenario, clusterFile: string, options: RunOptions): Promise<ScenarioRun> {
  const { manifest } = scenario;
  const startedAtMs = Date.now();
  const sinceStart = (): number => Date.now() - startedAtMs;
  const cluster = readClusterFile(clusterFile);
  const keyPrefix = options.keyPrefix ?? newKeyPrefix();
  const run: ScenarioRun = {
    ...emptyRun(scenario, options.strategy, new Date(startedAtMs).toISOString()),
    cluster: {
      file: clusterFile,
      startedHere: options.startedHere,
      middlewares: cluster.middlewares.map((entry) => entry.id),
      databases: cluster.databases.map((entry) => entry.id),
    },
    keyPrefix,
    finishedAt: '',
  };

  const blocksOf = (file: string): Block[] => withKeyPrefix(scenario.files.get(file)!.blocks, keyPrefix);
  const timeoutMs = manifest.clientTimeoutMs;
  run.error = missingNodes(scenario, cluster) ?? undefined;

  if (run.error === undefined && manifest.setup !== undefined) {
    const setupSpec: ClientSpec = { name: 'setup', middleware: manifest.setupMiddleware, file: manifest.setup, startAfterMs: 0 };
    run.setup = await runClient(setupSpec, blocksOf(manifest.setup), keyPrefix, cluster, timeoutMs, sinceStart);
    if (run.setup.exitCode !== 0) run.error = `setup ${manifest.setup} did not commit: ${firstProblem(run.setup)}`;
  }

  for (const step of run.error === undefined ? manifest.steps : []) {
    if (isAborted(options)) {
      run.error = 'interrupted';
      break;
    }
    if ('clients' in step) {
      const startedMs = sinceStart();
      const clients = await Promise.all(step.clients.map(async (client) => {
        await delay(client.startAfterMs);
        return runClient(client, blocksOf(client.file), keyPrefix, cluster, timeoutMs, sinceStart);
      }));
      run.steps.push({ kind: 'clients', startedMs, finishedMs: sinceStart(), clients });
    } else {
      const action = await runAction(step, clusterFile, sinceStart);
      run.steps.push(action);
      if (!action.ok) {
        run.error = `${action.action} DATABASE${action.database} failed: ${action.detail}`;
        break;
      }
    }
  }

  run.final = await readFinalState(cluster, scenario.keys, keyPrefix);
  if (manifest.expect.replicasAgree === true) run.replicas = await compareReplicas(clusterFile);
  const clients = new Map<string, { output: string; exitCode: number }>();
  for (const step of run.steps) if (step.kind === 'clients') for (const client of step.clients) clients.set(client.name, client);
  run.expectations = evaluate(manifest.expect, { clients, finalByMiddleware: run.final.byMiddleware, replicas: run.replicas });
  run.passed = run.error === undefined && run.expectations.every((expectation) => expectation.pass);
  const finishedAtMs = Date.now();
  run.finishedAt = new Date(finishedAtMs).toISOString();
  run.durationMs = finishedAtMs - startedAtMs;
  if (run.error === undefined) delete run.error;
  return run;
}

/** The middlewares and databases the scenario names that the cluster does not have, as a sentence; or null. */
function missingNodes(scenario: Scenario, cluster: ClusterFile): string | null {
  const { manifest } = scenario;
  const middlewares = new Set<number>([manifest.setupMiddleware]);
  const databases = new Set<number>();
  for (const step of manifest.steps) {
    if ('clients' in step) for (const client of step.clients) middlewares.add(client.middleware);
    else databases.add(step.database);
  }
  const missing = [
    ...[...middlewares].filter((id) => !cluster.middlewares.some((entry) => entry.id === id)).map((id) => `MIDDLEWARE${id}`),
    ...[...databases].filter((id) => !cluster.databases.some((entry) => entry.id === id)).map((id) => `DATABASE${id}`),
  ];
  if (missing.length === 0) return null;
  const has = clusterNodes(cluster).map((node) => node.name).join(', ');
  return `the scenario needs ${missing.join(', ')}, which the cluster does not have (it has ${has})`;
}

function firstProblem(client: ClientRun): string {
  if (client.error) return client.error.message;
  const transaction = client.transactions.find((candidate) => candidate.outcome !== 'committed');
  return transaction?.error?.message ?? `exit code ${client.exitCode}`;
}

/** Runs one client's blocks as `occdb client` would, and records what it would print and exit with. */
async function runClient(spec: ClientSpec, blocks: Block[], keyPrefix: string, cluster: ClusterFile, timeoutMs: number, sinceStart: () => number): Promise<ClientRun> {
  const startedMs = sinceStart();
  const connection = new Connection(middlewareClientEndpoint(findMiddleware(cluster, spec.middleware)), `MIDDLEWARE${spec.middleware}`);
  let transactions: TxnResult[];
  let error: ClientRun['error'];
  try {
    transactions = await runBlocks(connection, blocks, { timeoutMs });
  } catch (thrown) {
    if (!(thrown instanceof MiddlewareUnreachableError)) throw thrown;
    transactions = thrown.completed;
    error = { code: thrown.cause.code, message: thrown.message };
  } finally {
    connection.close();
  }
  const exitCode = error !== undefined ? 3 : transactions.every((transaction) => transaction.outcome === 'committed') ? 0 : 1;
  return {
    name: spec.name,
    middleware: spec.middleware,
    file: spec.file,
    startAfterMs: spec.startAfterMs,
    startedMs,
    finishedMs: sinceStart(),
    // Error messages name the entries they read; the output shows them as the scenario names them.
    output: withoutKeyPrefix(formatClassic(transactions), keyPrefix),
    exitCode,
    transactions,
    ...(error ? { error } : {}),
  };
}

/** Kills a database with SIGKILL by the pid its cluster file records, or starts it again. */
async function runAction(step: ActionStep, clusterFile: string, sinceStart: () => number): Promise<ActionStepRun> {
  const startedMs = sinceStart();
  const result = (ok: boolean, detail: string, pid?: number): ActionStepRun => ({
    kind: 'action',
    action: step.action,
    database: step.database,
    ...(pid !== undefined ? { pid } : {}),
    startedMs,
    finishedMs: sinceStart(),
    ok,
    detail,
  });
  try {
    if (step.action === 'kill-database') {
      const pid = await killDatabase(clusterFile, step.database);
      return result(true, `killed pid ${pid} with SIGKILL`, pid);
    }
    const output = new CollectingOutput();
    const started = await startNode(clusterFile, `DATABASE${step.database}`, 'warn', output);
    const pid = findDatabase(readClusterFile(clusterFile), step.database).pid;
    if (!started) return result(false, output.problems.slice(0, PROBLEM_LINES_SHOWN_MAX).join(' | ') || 'it did not start', pid);
    return result(true, `started again as pid ${pid ?? '?'} on its old port and data`, pid);
  } catch (error) {
    return result(false, (error as Error).message);
  }
}

async function killDatabase(clusterFile: string, id: number): Promise<number> {
  const cluster = readClusterFile(clusterFile);
  const entry = findDatabase(cluster, id);
  if (entry.pid === undefined) {
    throw new OccdbError('USAGE', `the cluster file records no pid for DATABASE${id} (was the cluster started with occdb startup?)`);
  }
  const launchers = Launchers.forCluster(cluster);
  try {
    const launcher = launchers.forHost(entry.host);
    if (!(await launcher.isAlive(entry.pid))) throw new OccdbError('USAGE', `DATABASE${id} (pid ${entry.pid}) is not running`);
    await launcher.signal(entry.pid, 'SIGKILL');
    const attemptsMax = Math.ceil(KILL_WAIT_MS / KILL_POLL_MS);
    for (let attempt = 0; attempt < attemptsMax; attempt += 1) {
      if (!(await launcher.isAlive(entry.pid))) return entry.pid;
      await delay(KILL_POLL_MS);
    }
    throw new OccdbError('PROCESS_CONTROL_FAILED', `DATABASE${id} (pid ${entry.pid}) is still running ${KILL_WAIT_MS} ms after SIGKILL`);
  } finally {
    launchers.close();
  }
}

/**
 * Reads every entry of the scenario through every middleware, one read-only transaction each:
 * `IGNORE` then `PRINT` per entry, so a missing entry prints nothing (null) instead of rolling
 * the read back.
 */
async function readFinalState(cluster: ClusterFile, keys: readonly string[], keyPrefix: string): Promise<FinalReading> {
  const commands: Command[] = keys.flatMap((key, index): Command[] => [
    { line: index * 2 + 1, op: 'IGNORE' },
    { line: index * 2 + 2, op: 'PRINT', source: keyPrefix + key },
  ]);
  const block: Block = { commands, end: 'commit', firstLine: 1, lastLine: Math.max(1, commands.length) };
  const byMiddleware: Record<string, MiddlewareReading> = {};
  for (const entry of cluster.middlewares) {
    byMiddleware[`MIDDLEWARE${entry.id}`] = await readThrough(cluster, entry.id, keys, block);
  }
  const readings = Object.values(byMiddleware);
  const first = readings[0];
  const allSame = first !== undefined && !('error' in first) && readings.every((reading) => JSON.stringify(reading) === JSON.stringify(first));
  return { keys: [...keys], state: allSame ? first.state : null, byMiddleware };
}

async function readThrough(cluster: ClusterFile, middlewareId: number, keys: readonly string[], block: Block): Promise<MiddlewareReading> {
  if (keys.length === 0) return { state: {} };
  const connection = new Connection(middlewareClientEndpoint(findMiddleware(cluster, middlewareId)), `MIDDLEWARE${middlewareId}`);
  try {
    const [result] = await runBlocks(connection, [block], { timeoutMs: FINAL_READ_TIMEOUT_MS });
    if (result === undefined || result.outcome !== 'committed') {
      return { error: `the read-only transaction ${result?.outcome ?? 'did not run'}: ${result?.error?.message ?? 'no reason given'}` };
    }
    const state: Record<string, EntryReading> = {};
    keys.forEach((key, index) => {
      const printed = result.results.find((line) => line.line === index * 2 + 2 && line.kind === 'print');
      state[key] = printed !== undefined && printed.kind === 'print' && /^-?\d+$/.test(printed.value) ? Number(printed.value) : null;
    });
    return { state };
  } catch (error) {
    return { error: (error as Error).message };
  } finally {
    connection.close();
  }
}

async function compareReplicas(clusterFile: string): Promise<ReplicaComparison> {
  try {
    const report = await verifyReplicas(readClusterFile(clusterFile));
    return { agree: report.differenceCount === 0, keys: report.keys, replicas: report.replicas, differenceCount: report.differenceCount, differences: report.differences };
  } catch (error) {
    return { agree: false, error: (error as Error).message };
  }
}

// ---- local clusters ----

/** A cluster of 3 middlewares and 3 databases on loopback, in its own temporary directory. */
export class LocalCluster {
  private constructor(readonly strategy: Strategy, readonly dir: string, readonly clusterFile: string) {}

  /** Starts one; throws with startup's reasons if it does not come up (and leaves nothing running). */
  static async start(strategy: Strategy, parentDir = os.tmpdir()): Promise<LocalCluster> {
    const dir = fs.mkdtempSync(path.join(parentDir, `occdb-scenario-${strategy}-`));
    const output = new CollectingOutput();
    let started = false;
    try {
      started = await runStartup({
        layout: { middlewareHosts: Array(LOCAL_MIDDLEWARES).fill(LOCAL_HOST), databaseHosts: Array(LOCAL_DATABASES).fill(LOCAL_HOST) },
        dir,
        strategy,
        logLevel: 'warn',
      }, output);
    } catch (error) {
      output.problem((error as Error).message);
    }
    const cluster = new LocalCluster(strategy, dir, clusterFilePath(dir));
    if (!started) {
      // Startup stops what it started when a process is unhealthy, but not when it throws.
      await cluster.stop();
      throw new OccdbError('NODE_UNAVAILABLE', `the local ${strategy} cluster did not start: ${output.problems.slice(0, PROBLEM_LINES_SHOWN_MAX).join(' | ') || 'no reason given'}`);
    }
    return cluster;
  }

  /** Every pid the cluster file records. */
  pids(): number[] {
    try {
      return clusterNodes(readClusterFile(this.clusterFile)).flatMap((node) => (node.pid === undefined ? [] : [node.pid]));
    } catch {
      return [];
    }
  }

  /** Why the cluster cannot run the next scenario (a process is down), or null. */
  async problem(): Promise<string | null> {
    const cluster = readClusterFile(this.clusterFile);
    const launchers = Launchers.forCluster(cluster);
    try {
      for (const node of clusterNodes(cluster)) {
        if (node.pid === undefined || !(await launchers.forHost(node.host).isAlive(node.pid))) return `${node.name} is not running`;
      }
    } finally {
      launchers.close();
    }
    return null;
  }

  /**
   * Stops every process and removes the directory unless `keepDir`. Returns the problems;
   * a directory with a process left in it is always kept, since its cluster file names the pid.
   */
  async stop(keepDir = false): Promise<string[]> {
    const output = new CollectingOutput();
    let allStopped = false;
    try {
      allStopped = fs.existsSync(this.clusterFile) ? await stopCluster(this.clusterFile, output) : true;
    } catch (error) {
      output.problem((error as Error).message);
    }
    if (allStopped && !keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
    else if (!allStopped) output.problem(`kept ${this.dir}: stop what is left with 'occdb stop --dir ${this.dir}'`);
    return output.problems;
  }
}

// ---- many scenarios ----

export interface RunScenariosOptions {
  /** The scenario path the user gave, for the document. */
  target: string;
  /** A running cluster to use; without it a local cluster is started per strategy. */
  clusterFile?: string;
  /** Only this strategy (with a running cluster, it must be the cluster's). */
  strategy?: Strategy;
  /** Keep each local cluster's directory (logs, data) after stopping it. */
  keepDir?: boolean;
  /** Progress and problems, one line each. */
  onNote?: (text: string) => void;
  /** Called as each run finishes. */
  onRun?: (run: ScenarioRun) => void;
  /** Set while a local cluster runs: called with a function that stops it at once (for a second SIGINT). */
  onLocalCluster?: (stop: (() => Promise<string[]>) | null) => void;
  /**
   * When aborted, no further step, scenario or cluster starts; the local cluster is stopped
   * and the document returned has `interrupted: true`.
   */
  signal?: AbortSignal;
}

/**
 * Runs every scenario under every strategy it lists (or only `strategy`), and returns the
 * result document. Throws only for a usage mistake (the given cluster's strategy is not the
 * one asked for; nothing to run) or an unreachable given cluster.
 */
export async function runScenarios(scenarios: readonly Scenario[], options: RunScenariosOptions): Promise<ScenarioResults> {
  const note = options.onNote ?? ((): void => {});
  const results: ScenarioResults = {
    format: RESULTS_FORMAT,
    version: RESULTS_FORMAT_VERSION,
    startedAt: new Date().toISOString(),
    finishedAt: '',
    machine: machineFacts(),
    target: options.target,
    cluster: options.clusterFile ?? 'local',
    passed: false,
    interrupted: false,
    runs: [],
    skipped: [],
  };
  const record = (run: ScenarioRun): void => {
    results.runs.push(run);
    options.onRun?.(run);
  };

  if (options.clusterFile !== undefined) {
    const cluster = readClusterFile(options.clusterFile);
    if (options.strategy !== undefined && options.strategy !== cluster.strategy) {
      throw new OccdbError('USAGE', `the cluster of ${options.clusterFile} runs strategy ${cluster.strategy}, not ${options.strategy}; leave out --strategy or give another cluster`);
    }
    const [planned, skipped] = plan(scenarios, [cluster.strategy], 'the given cluster runs another strategy');
    results.skipped.push(...skipped);
    if (planned.length === 0) throw new OccdbError('USAGE', `no scenario lists strategy ${cluster.strategy}, which the given cluster runs`);
    await checkReachable(cluster);
    for (const { scenario, strategy } of planned) {
      if (isAborted(options)) break;
      record(await runScenario(scenario, options.clusterFile, { strategy, startedHere: false, ...signalOf(options) }));
    }
  } else {
    const strategies = options.strategy !== undefined ? [options.strategy] : [...STRATEGIES];
    const [planned, skipped] = plan(scenarios, strategies, '--strategy asks for another one');
    results.skipped.push(...skipped);
    if (planned.length === 0) throw new OccdbError('USAGE', `no scenario lists strategy ${options.strategy}`);
    for (const strategy of strategies) {
      const runs = planned.filter((entry) => entry.strategy === strategy);
      if (runs.length > 0 && !isAborted(options)) await runOnLocalCluster(strategy, runs.map((entry) => entry.scenario), options, note, record);
    }
  }
  results.finishedAt = new Date().toISOString();
  results.interrupted = isAborted(options);
  results.passed = !results.interrupted && results.runs.length > 0 && results.runs.every((run) => run.passed);
  return results;
}

/** Scenario × strategy pairs to run, in strategy order then scenario order; and those skipped. */
function plan(scenarios: readonly Scenario[], strategies: readonly Strategy[], reason: string): [Array<{ scenario: Scenario; strategy: Strategy }>, SkippedRun[]] {
  const planned: Array<{ scenario: Scenario; strategy: Strategy }> = [];
  const skipped: SkippedRun[] = [];
  for (const strategy of strategies) {
    for (const scenario of scenarios) if (scenario.manifest.strategies.includes(strategy)) planned.push({ scenario, strategy });
  }
  for (const scenario of scenarios) {
    for (const strategy of scenario.manifest.strategies) if (!strategies.includes(strategy)) skipped.push({ scenario: scenario.manifest.name, strategy, reason });
  }
  return [planned, skipped];
}

async function runOnLocalCluster(
  strategy: Strategy,
  scenarios: readonly Scenario[],
  options: RunScenariosOptions,
  note: (text: string) => void,
  record: (run: ScenarioRun) => void,
): Promise<void> {
  let cluster: LocalCluster | null = null;
  const stop = async (): Promise<void> => {
    if (cluster === null) return;
    const current = cluster;
    cluster = null;
    options.onLocalCluster?.(null);
    for (const problem of await current.stop(options.keepDir === true)) note(problem);
    if (options.keepDir === true) note(`kept the ${strategy} cluster's directory ${current.dir}`);
  };
  try {
    for (const scenario of scenarios) {
      if (isAborted(options)) break;
      // A run that killed a process and could not start it again must not fail the next ones.
      const problem: string | null = cluster === null ? null : await (cluster as LocalCluster).problem();
      if (problem !== null) {
        note(`the local ${strategy} cluster is not whole (${problem}); starting a new one`);
        await stop();
      }
      if (cluster === null) {
        note(`starting a local ${strategy} cluster (${LOCAL_MIDDLEWARES} middlewares, ${LOCAL_DATABASES} databases)`);
        try {
          const started: LocalCluster = await LocalCluster.start(strategy);
          cluster = started;
          options.onLocalCluster?.(() => started.stop(options.keepDir === true));
        } catch (error) {
          record(failedRun(scenario, strategy, (error as Error).message));
          continue;
        }
        if (isAborted(options)) break;
      }
      const current: LocalCluster = cluster;
      record(await runScenario(scenario, current.clusterFile, { strategy, startedHere: true, ...signalOf(options) }));
    }
  } finally {
    await stop();
  }
}

function isAborted(options: { signal?: AbortSignal }): boolean {
  return options.signal?.aborted === true;
}

function signalOf(options: RunScenariosOptions): { signal?: AbortSignal } {
  return options.signal !== undefined ? { signal: options.signal } : {};
}

/** A run that has not happened yet (or could not start). */
function emptyRun(scenario: Scenario, strategy: Strategy, startedAt: string): ScenarioRun {
  return {
    scenario: scenario.manifest.name,
    property: scenario.manifest.property,
    description: scenario.manifest.description,
    manifest: scenario.manifestFile,
    strategy,
    cluster: { file: '', startedHere: true, middlewares: [], databases: [] },
    keyPrefix: '',
    startedAt,
    finishedAt: startedAt,
    durationMs: 0,
    files: Object.fromEntries([...scenario.files].map(([name, file]) => [name, file.text])),
    setup: null,
    steps: [],
    final: { keys: scenario.keys, state: null, byMiddleware: {} },
    replicas: null,
    expectations: [],
    passed: false,
  };
}

/** A run that could not start: no cluster. */
function failedRun(scenario: Scenario, strategy: Strategy, error: string): ScenarioRun {
  return { ...emptyRun(scenario, strategy, new Date().toISOString()), error };
}

/** Every middleware of a given cluster answers ping, or the run would only measure its absence. */
async function checkReachable(cluster: ClusterFile): Promise<void> {
  const silent: string[] = [];
  await Promise.all(cluster.middlewares.map(async (entry) => {
    const connection = new Connection(middlewareClientEndpoint(entry), `MIDDLEWARE${entry.id}`);
    try {
      await connection.request({ type: 'ping' }, PING_TIMEOUT_MS);
    } catch (error) {
      silent.push((error as Error).message);
    } finally {
      connection.close();
    }
  }));
  if (silent.length > 0) throw new OccdbError('CLUSTER_UNREACHABLE', `the cluster is not whole: ${silent.join('; ')}`);
}
