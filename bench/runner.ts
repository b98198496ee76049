// One measured run: re-create the data, run closed-loop clients through a warm-up and a
// measured window, let them finish, then check the data (workload invariant and replica
// agreement). A run whose checks fail is a FAILED run: it is recorded with its reason and
// never becomes a data point.
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { OccdbClient } from '../client/client.js';
import type { Strategy } from '../cluster/cluster-file.js';
import { OccdbError, isUnavailableError } from '../errors/catalogue.js';
import type { Status, TxnResult } from '../protocol/schemas.js';
import { verifyReplicas } from '../startup/verify.js';
import type { BenchCluster } from './cluster.js';
import { type ClockTicks, type CpuPercentByRole, cpuPercentByRole, messagesSentOf, snapshotCpu } from './measure.js';
import type { PlannedRun } from './plan.js';
import { type Random, clientSeed, seededRandom } from './random.js';
import { type LatencySummaryMs, latencySummary } from './stats.js';
import { type Workload, type WorkloadSpec, workloadFor } from './workloads.js';

/** How long one benchmark transaction may take, retries included, before it counts as in doubt. */
export const TRANSACTION_TIMEOUT_MS = 30_000;
/** Transactions whose outcome the clients never learnt, after which a run is given up. */
const IN_DOUBT_PER_RUN_MAX = 50;
/** A client that lost its middleware, or was refused by it, waits this long before it tries again. */
const IN_DOUBT_PAUSE_MS = 100;
/** A bound on any client's loop, far above what a run of an hour could reach. */
const TRANSACTIONS_PER_CLIENT_MAX = 100_000_000;
/** Setup transactions sent at once (on different middlewares). */
const SETUP_CONCURRENCY_MAX = 4;
/** Waiting for the middlewares to finish transactions the clients gave up on. */
const QUIESCE_WAIT_MS = 15_000;
const QUIESCE_POLL_MS = 100;
/** Error messages kept per run, for the report. */
const ERRORS_KEPT_MAX = 5;

export type FailureKind = 'unavailable' | 'invariant' | 'error' | 'interrupted';

export interface RunRecord {
  index: number;
  repetition: number;
  strategy: Strategy;
  configurationKey: string;
  workload: WorkloadSpec;
  clients: number;
  status: 'ok' | 'failed';
  failure?: { kind: FailureKind; message: string };
  startedAt: string;
  /** The measured window's actual length. */
  windowMs: number;
  /** Transactions that ended in the window, by outcome. */
  committed: number;
  /** Ended without committing (retries exhausted, rolled back, refused), in the window. */
  failedTransactions: number;
  failedByCode: Record<string, number>;
  /** Requests with no answer (timeout, lost connection) over the whole run: outcome unknown. */
  inDoubt: number;
  /** Sum of TxnResult.retries of the transactions that ended in the window. */
  retries: number;
  throughputPerSecond: number;
  restartsPerCommit: number | null;
  /** Client-side, send to result, retries included, of the transactions committed in the window. */
  latencyMs: LatencySummaryMs;
  /** Sum over middlewares of the messagesSent delta over the window; null when not reported. */
  messagesSent: number | null;
  messagesPerCommit: number | null;
  cpuPercent: CpuPercentByRole;
  /** Deltas of the middlewares' own commit and abort counters over the window. */
  middlewareCommits: number | null;
  middlewareAborts: number | null;
  /** Phase lengths, to see where a sweep's time goes. */
  phaseMs: { setup: number; warmup: number; drain: number; check: number };
  errors: string[];
}

export interface RunControl {
  /** Set by an interrupt: the run ends as soon as it can. */
  signal: AbortSignal;
  ticks: ClockTicks;
  durationSeconds: number;
  warmupSeconds: number;
  seed: number;
}

type Phase = 'warmup' | 'measure' | 'drain';

/** What the clients of one run count. Mutated by the client loops, read when the run ends. */
class Tally {
  phase: Phase = 'warmup';
  stopping = false;
  committed = 0;
  failedTransactions = 0;
  readonly failedByCode: Record<string, number> = {};
  retries = 0;
  readonly latenciesMs: number[] = [];
  inDoubt = 0;
  /** Over the whole run, for the ycsb sum check. */
  incrementsCommitted = 0;
  incrementsInDoubt = 0;
  readonly errors: string[] = [];
  giveUpReason: string | null = null;

  noteError(message: string): void {
    if (this.errors.length < ERRORS_KEPT_MAX && !this.errors.includes(message)) this.errors.push(message);
  }

  recordResult(result: TxnResult, incrementCount: number, latencyMs: number): void {
    if (result.outcome === 'committed') this.incrementsCommitted += incrementCount;
    if (this.phase !== 'measure') return;
    this.retries += result.retries;
    if (result.outcome === 'committed') {
      this.committed += 1;
      this.latenciesMs.push(latencyMs);
    } else {
      this.failedTransactions += 1;
      const code = result.error?.code ?? result.outcome;
      this.failedByCode[code] = (this.failedByCode[code] ?? 0) + 1;
      if (result.error) this.noteError(`${code}: ${result.error.message}`);
    }
  }

  recordInDoubt(incrementCount: number, error: Error): void {
    this.inDoubt += 1;
    this.incrementsInDoubt += incrementCount;
    this.noteError(error.message);
    if (this.inDoubt >= IN_DOUBT_PER_RUN_MAX) {
      this.giveUpReason ??= `${this.inDoubt} transactions got no answer (last: ${error.message})`;
      this.stopping = true;
    }
  }
}

/** Transport failures leave the outcome unknown; any other error reply means the transaction did not run. */
function isInDoubt(error: unknown): boolean {
  return isUnavailableError(error);
}

/** One closed-loop client: the next transaction goes out as soon as the previous result is in. */
async function clientLoop(client: OccdbClient, workload: Workload, random: Random, tally: Tally): Promise<void> {
  for (let count = 0; count < TRANSACTIONS_PER_CLIENT_MAX && !tally.stopping; count += 1) {
    const drawn = workload.next(random);
    const sentMs = performance.now();
    let result: TxnResult;
    try {
      result = await client.run(drawn.text, { timeoutMs: TRANSACTION_TIMEOUT_MS });
    } catch (error) {
      if (isInDoubt(error)) {
        tally.recordInDoubt(drawn.incrementCount, error as Error);
        await delay(IN_DOUBT_PAUSE_MS);
        continue;
      }
      // Text the workload drew that does not parse is a bug of the benchmark, not a result.
      if (!(error instanceof OccdbError) || error.code === 'BAD_COMMAND_FILE') throw error;
      // Refused before it ran (the middleware is leaving, or rejected the message); the
      // pause keeps a middleware that refuses everything from being flooded.
      tally.recordResult({ outcome: 'failed', retries: 0, results: [], middlewareId: 0, error: { code: error.code, message: error.message } }, drawn.incrementCount, 0);
      await delay(IN_DOUBT_PAUSE_MS);
      continue;
    }
    tally.recordResult(result, drawn.incrementCount, performance.now() - sentMs);
  }
}

/** Sleeps `ms`, or less if the run is interrupted or given up. */
async function waitPhase(ms: number, control: RunControl, tally: Tally): Promise<void> {
  const endMs = performance.now() + ms;
  // Short slices, so an interrupt or a give-up ends the phase promptly.
  for (let slice = 0; slice < 100_000 && !control.signal.aborted && !tally.stopping; slice += 1) {
    const leftMs = endMs - performance.now();
    if (leftMs <= 0) return;
    await delay(Math.min(leftMs, 100));
  }
}

interface CounterSnapshot {
  messagesSent: number | null;
  commits: number | null;
  aborts: number | null;
}

function sumCounters(statuses: readonly Status[]): CounterSnapshot {
  const total = (values: (number | null | undefined)[]): number | null =>
    values.every((value): value is number => typeof value === 'number') ? values.reduce((sum, value) => sum + value, 0) : null;
  return {
    messagesSent: total(statuses.map(messagesSentOf)),
    commits: total(statuses.map((status) => status.commits)),
    aborts: total(statuses.map((status) => status.aborts)),
  };
}

async function counters(cluster: BenchCluster): Promise<CounterSnapshot> {
  try {
    return sumCounters(await cluster.statuses());
  } catch {
    return { messagesSent: null, commits: null, aborts: null };
  }
}

function delta(before: number | null, after: number | null): number | null {
  return before === null || after === null ? null : after - before;
}

/** Runs transactions one after another (up to SETUP_CONCURRENCY_MAX at once); each must commit. */
async function runAll(cluster: BenchCluster, transactions: readonly string[]): Promise<TxnResult[]> {
  const results: TxnResult[] = new Array(transactions.length);
  let next = 0;
  const worker = async (workerIndex: number): Promise<void> => {
    for (let index = next++; index < transactions.length; index = next++) {
      const result = await cluster.controlClient(workerIndex).run(transactions[index]!, { timeoutMs: TRANSACTION_TIMEOUT_MS * 2 });
      if (result.outcome !== 'committed') {
        // A setup transaction that did not commit carries the reason as its error.
        throw new OccdbError(result.error?.code ?? 'TXN_RETRIES_EXHAUSTED', `a transaction of ${transactions[index]!.split('\n').length - 1} commands did not commit: ${result.outcome}${result.error ? ` (${result.error.code}: ${result.error.message})` : ''}`);
      }
      results[index] = result;
    }
  };
  const workerCount = Math.min(SETUP_CONCURRENCY_MAX, cluster.middlewareIds.length, transactions.length);
  await Promise.all(Array.from({ length: workerCount }, (_, workerIndex) => worker(workerIndex)));
  return results;
}

/** Waits (bounded) until no middleware has a transaction in flight, where they report it. */
async function quiesce(cluster: BenchCluster): Promise<void> {
  const deadline = performance.now() + QUIESCE_WAIT_MS;
  for (let attempt = 0; attempt < QUIESCE_WAIT_MS / QUIESCE_POLL_MS && performance.now() < deadline; attempt += 1) {
    const statuses = await cluster.statuses().catch(() => null);
    if (statuses !== null && statuses.every((status) => (status.inFlight ?? 0) === 0)) return;
    await delay(QUIESCE_POLL_MS);
  }
}

interface CheckProblem {
  kind: FailureKind;
  message: string;
}

/** The workload invariant and replica agreement; the problem, or null. */
async function checkData(cluster: BenchCluster, workload: Workload, tally: Tally): Promise<CheckProblem | null> {
  if (tally.inDoubt > 0) await quiesce(cluster);
  let results: TxnResult[];
  try {
    results = await runAll(cluster, workload.readBackTransactions());
  } catch (error) {
    // A middleware that cannot be reached says nothing about the data; one that answers
    // and will not commit a read-only snapshot is an error of its own.
    return { kind: isInDoubt(error) ? 'unavailable' : 'error', message: `reading the data back failed: ${(error as Error).message}` };
  }
  const values: number[] = [];
  for (const result of results) {
    for (const line of result.results) {
      if (line.kind !== 'print') continue;
      const value = Number(line.value);
      if (!Number.isSafeInteger(value)) return { kind: 'invariant', message: `the read-back printed '${line.value}', not an integer` };
      values.push(value);
    }
  }
  const invariantProblem = workload.check(values, tally.incrementsCommitted, tally.incrementsInDoubt);
  if (invariantProblem !== null) return { kind: 'invariant', message: invariantProblem };
  let report;
  try {
    report = await verifyReplicas(cluster.cluster);
  } catch (error) {
    return { kind: 'unavailable', message: `comparing the replicas failed: ${(error as Error).message}` };
  }
  if (report.differenceCount > 0) {
    const first = report.differences[0]!;
    return { kind: 'invariant', message: `the replicas differ on ${report.differenceCount} of ${report.keys} keys (first: ${first.key} ${JSON.stringify(first.entries)})` };
  }
  return null;
}

function emptyRecord(planned: PlannedRun, startedAt: string): RunRecord {
  return {
    index: planned.index,
    repetition: planned.repetition,
    strategy: planned.strategy,
    configurationKey: planned.configuration.key,
    workload: planned.configuration.workload,
    clients: planned.configuration.clients,
    status: 'ok',
    startedAt,
    windowMs: 0,
    committed: 0,
    failedTransactions: 0,
    failedByCode: {},
    inDoubt: 0,
    retries: 0,
    throughputPerSecond: 0,
    restartsPerCommit: null,
    latencyMs: latencySummary([]),
    messagesSent: null,
    messagesPerCommit: null,
    cpuPercent: { middleware: null, database: null, client: null },
    middlewareCommits: null,
    middlewareAborts: null,
    phaseMs: { setup: 0, warmup: 0, drain: 0, check: 0 },
    errors: [],
  };
}

export function failedRecord(planned: PlannedRun, kind: FailureKind, message: string): RunRecord {
  return { ...emptyRecord(planned, new Date().toISOString()), status: 'failed', failure: { kind, message } };
}

/**
 * Runs `planned` on `cluster` (already running). Never throws for a failure of the system
 * under test: that is a failed record. The cluster is left running; after a failed run it
 * should be replaced (its data, or its processes, may be broken).
 */
export async function executeRun(planned: PlannedRun, cluster: BenchCluster, control: RunControl): Promise<RunRecord> {
  const record = emptyRecord(planned, new Date().toISOString());
  const fail = (kind: FailureKind, message: string): RunRecord => ({ ...record, status: 'failed', failure: { kind, message } });
  const workload = workloadFor(planned.configuration.workload);
  const phaseStartMs = performance.now();

  try {
    await runAll(cluster, workload.setupTransactions());
  } catch (error) {
    return fail(isInDoubt(error) ? 'unavailable' : 'error', `re-creating the data failed: ${(error as Error).message}`);
  }
  record.phaseMs.setup = performance.now() - phaseStartMs;

  const tally = new Tally();
  const clients = Array.from({ length: planned.configuration.clients }, (_, index) => cluster.newClient(index));
  const loops = clients.map((client, index) => clientLoop(client, workload, seededRandom(clientSeed(control.seed, planned.index, index)), tally));
  const pids = cluster.pids();
  let windowEndMs = 0;
  try {
    const warmupStartMs = performance.now();
    await waitPhase(control.warmupSeconds * 1000, control, tally);
    record.phaseMs.warmup = performance.now() - warmupStartMs;

    const countersBefore = await counters(cluster);
    const cpuBefore = snapshotCpu(pids);
    const windowStartMs = performance.now();
    tally.phase = 'measure';
    await waitPhase(control.durationSeconds * 1000, control, tally);
    tally.phase = 'drain';
    tally.stopping = true;
    windowEndMs = performance.now();
    const cpuAfter = snapshotCpu(pids);
    const countersAfter = await counters(cluster);

    record.windowMs = windowEndMs - windowStartMs;
    record.cpuPercent = cpuPercentByRole(pids, cpuBefore, cpuAfter, record.windowMs, control.ticks);
    record.messagesSent = delta(countersBefore.messagesSent, countersAfter.messagesSent);
    record.middlewareCommits = delta(countersBefore.commits, countersAfter.commits);
    record.middlewareAborts = delta(countersBefore.aborts, countersAfter.aborts);
  } finally {
    tally.stopping = true;
    // Each loop ends after its transaction in flight, which the request timeout bounds.
    const settled = await Promise.allSettled(loops);
    for (const client of clients) client.close();
    record.phaseMs.drain = windowEndMs > 0 ? performance.now() - windowEndMs : 0;
    const crashed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (crashed) throw crashed.reason;
  }

  Object.assign(record, {
    committed: tally.committed,
    failedTransactions: tally.failedTransactions,
    failedByCode: tally.failedByCode,
    inDoubt: tally.inDoubt,
    retries: tally.retries,
    throughputPerSecond: record.windowMs > 0 ? tally.committed / (record.windowMs / 1000) : 0,
    restartsPerCommit: tally.committed > 0 ? tally.retries / tally.committed : null,
    latencyMs: latencySummary(tally.latenciesMs),
    messagesPerCommit: record.messagesSent !== null && tally.committed > 0 ? record.messagesSent / tally.committed : null,
    errors: tally.errors,
  });

  if (control.signal.aborted) return fail('interrupted', 'interrupted before the run ended');
  const checkStartMs = performance.now();
  const problem = await checkData(cluster, workload, tally);
  record.phaseMs.check = performance.now() - checkStartMs;
  if (problem !== null) return fail(problem.kind, problem.message);
  if (tally.giveUpReason !== null) return fail('unavailable', tally.giveUpReason);
  if (tally.committed === 0) {
    return fail('error', `no transaction committed in the ${(record.windowMs / 1000).toFixed(1)} s window${tally.errors.length > 0 ? ` (${tally.errors[0]})` : ''}`);
  }
  return record;
}
