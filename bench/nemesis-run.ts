// One nemesis run: the bank workload (bench/bank-markers.ts) on a cluster this run starts, a
// warm-up, then for each fault in turn: inject it, hold it, heal it, wait (bounded) for the
// process to be back and the commits to resume, let the load run a little longer, then stop
// the load and check the invariants (the bank total, no acknowledged transfer lost, replicas
// identical) before the next fault. Every wait is bounded; the cluster and the namespaces are
// removed whatever happens.
import { setTimeout as delay } from 'node:timers/promises';
import type { Strategy } from '../cluster/cluster-file.js';
import { BankWorkload, checkBank, setupBank, verifyClean, type BankOptions, type Transfer } from './bank-markers.js';
import { NemesisCluster, type Standing } from './nemesis-cluster.js';
import { commitRecovery, type FaultKind, type FaultRecord, type InvariantChecks } from './nemesis-report.js';

export interface FaultStep {
  kind: FaultKind;
  /** MIDDLEWARE<n> or DATABASE<n>. */
  target: string;
}

export interface NemesisOptions {
  steps: FaultStep[];
  strategy: Strategy;
  middlewares: number;
  databases: number;
  clients: number;
  accounts: number;
  warmupMs: number;
  /** How long each fault is held before it is healed. */
  holdMs: number;
  /** The most to wait after a heal for the process to be back and the commits to resume. */
  recoveryMs: number;
  /**
   * Load kept running after the recovery, before the checks, so that the chart shows the rate
   * settle; and after the checks, before the next fault, so that the next one meets a running load.
   */
  settleMs: number;
  /** A stretch without a commit at least this long is a gap (the commits stopped). */
  gapMs: number;
  /** Run the cluster in network namespaces (needed for partitions; root only). */
  namespaces: boolean;
  /** Why the cluster runs on loopback, for the rows of the partitions skipped because of it. */
  loopbackReason?: string;
  /** Where the cluster lives (its processes' directories and logs). */
  dir: string;
  seed: number;
  transferTimeoutMs: number;
  /** Ends the run early (Ctrl-C): the waits stop, the cluster is stopped and the namespaces removed. */
  signal?: AbortSignal;
}

export interface NemesisResult {
  /** How the cluster ran: 'loopback' or 'namespaces (…)'. */
  network: string;
  records: FaultRecord[];
  /** Acknowledgement times of every committed transfer, ms from the start of the load. */
  commitTimesMs: number[];
  endMs: number;
  /** Every transfer, for the totals. */
  transferCount: number;
  /** Problems stopping the cluster (a process left running). */
  stopProblems: string[];
}

const RATE_WINDOW_MS = 3_000;
const POLL_MS = 100;
const VERIFY_ATTEMPTS = 3;
const STANDING_POLL_MS = 250;

/** Runs the plan; `say` gets a line per step, for a progress log. */
export async function runNemesis(options: NemesisOptions, say: (line: string) => void): Promise<NemesisResult> {
  const clusterOptions = { dir: options.dir, strategy: options.strategy, middlewares: options.middlewares, databases: options.databases, logLevel: 'info' as const };
  say(options.namespaces ? `starting ${options.middlewares}x${options.databases} in network namespaces in ${options.dir}` : `starting ${options.middlewares}x${options.databases} on loopback in ${options.dir}`);
  const cluster = options.namespaces ? await NemesisCluster.startInNamespaces(clusterOptions) : await NemesisCluster.startOnLoopback(clusterOptions);
  const network = cluster.network ? `namespaces (bridge ${cluster.network.bridge}, ${cluster.network.hosts.map((host) => host.address).join(', ')})` : 'loopback';
  const bank: BankOptions = { accounts: options.accounts, initial: 1_000, timeoutMs: options.transferTimeoutMs };
  const records: FaultRecord[] = [];
  const transfers: Transfer[] = [];
  let workload: BankWorkload | undefined;
  let originMs = 0;
  let measured: Omit<NemesisResult, 'stopProblems'>;
  let stopProblems: string[] = [];
  try {
    for (const step of options.steps) cluster.node(step.target);
    await setupBank(cluster, cluster.middlewareIds[0]!, bank);
    const startLoad = (phase: number): BankWorkload => new BankWorkload(cluster, {
      ...bank,
      clientMiddlewares: Array.from({ length: options.clients }, (_, index) => cluster.middlewareIds[index % cluster.middlewareIds.length]!),
      seed: options.seed + phase,
      clientNumberBase: phase * options.clients,
    });
    const now = (): number => performance.now() - originMs;
    /** Commits acknowledged so far, ms from the origin, sorted. */
    const commitTimes = (): number[] => [...transfers, ...(workload?.transfers ?? [])].filter((transfer) => transfer.outcome === 'committed').map((transfer) => transfer.endMs - originMs).sort((a, b) => a - b);

    originMs = performance.now();
    workload = startLoad(0);
    let loadStartMs = now();
    say(`warm-up ${options.warmupMs / 1000} s, ${options.clients} clients`);
    await delay(options.warmupMs, undefined, { signal: options.signal });

    for (const [index, step] of options.steps.entries()) {
      const unavailable = step.kind === 'partition' ? cluster.partitionUnavailable(step.target) : null;
      const skipped = unavailable !== null && cluster.network === null && options.loopbackReason !== undefined ? `${unavailable}: ${options.loopbackReason}` : unavailable;
      if (skipped !== null) {
        say(`PARTITION OF ${step.target} SKIPPED: ${skipped}`);
        records.push(skippedRecord(step, skipped, now()));
        continue;
      }
      const notes: string[] = [];
      const countsBefore = cluster.logCounts();
      const standingSeen = new Set<string>();
      const injectMs = now();
      say(`${step.kind} ${step.target} at ${(injectMs / 1000).toFixed(1)} s`);
      await inject(cluster, step, notes);
      // Watch the standing while the fault holds (what status says of a process that is out),
      // beside the hold rather than in it: a status round may take its whole timeout.
      let holding = true;
      const watcher = (async (): Promise<void> => {
        for (let attempt = 0; attempt < options.holdMs / POLL_MS + 1 && holding; attempt++) {
          const standing = await cluster.standing(step.target).catch(() => null);
          // An answer that came after the heal says nothing of the fault.
          if (standing !== null && holding) standingSeen.add(describeStanding(standing));
          await delay(STANDING_POLL_MS);
        }
      })();
      try {
        await delay(Math.max(0, injectMs + options.holdMs - now()), undefined, { signal: options.signal });
      } finally {
        holding = false;
      }
      const healMs = now();
      await heal(cluster, step, notes);
      await watcher;
      say(`healed ${step.target} at ${(healMs / 1000).toFixed(1)} s`);

      // Back: answers status as itself. Rejoined: stands where the newest view puts it. Commits: one after the heal.
      let backAfterHealMs: number | null = step.kind === 'none' ? 0 : null;
      let rejoined: FaultRecord['rejoined'] = { notKnown: 'not within the wait' };
      let statusReportsViews = true;
      const recoveryEndMs = now() + options.recoveryMs;
      for (let attempt = 0; attempt < options.recoveryMs / POLL_MS + 1 && now() < recoveryEndMs; attempt++) {
        if (backAfterHealMs === null && (await cluster.answers(step.target))) backAfterHealMs = now() - healMs;
        if (backAfterHealMs !== null && 'notKnown' in rejoined && statusReportsViews) {
          const standing = await cluster.standing(step.target).catch(() => 'no-answer' as const);
          if (standing === null) statusReportsViews = false;
          else if (standing !== 'no-answer' && standing.reason === null && (standing.place === 'member' || standing.place === 'replica')) rejoined = { afterHealMs: now() - healMs };
          else standingSeen.add(describeStanding(standing));
        }
        const committedSinceHeal = committedSince(workload?.transfers ?? [], originMs + healMs);
        if (backAfterHealMs !== null && (!('notKnown' in rejoined) || !statusReportsViews) && committedSinceHeal) break;
        await delay(POLL_MS, undefined, { signal: options.signal });
      }
      if (!statusReportsViews) rejoined = { notKnown: 'n/a (status reports no views)' };
      if (step.kind === 'none') rejoined = { notKnown: '-' };
      await delay(options.settleMs, undefined, { signal: options.signal });
      const windowEndMs = now();

      // The checks need no transfer in flight: stop the load, check, start a new one.
      say(`checks after ${step.kind} ${step.target}`);
      const load = workload;
      if (load === undefined) throw new Error('no load is running during a fault');
      await load.stop();
      const phaseTransfers = load.transfers;
      transfers.push(...phaseTransfers);
      workload = undefined;
      const checks = await checkInvariants(cluster, transfers, step, bank);
      const countsAfter = cluster.logCounts();
      const checksEndMs = now();
      const inWindow = phaseTransfers.filter((transfer) => transfer.endMs - originMs >= injectMs);
      const abortCodes: Record<string, number> = {};
      for (const transfer of inWindow) if (transfer.outcome === 'not-committed') abortCodes[transfer.code ?? 'unknown'] = (abortCodes[transfer.code ?? 'unknown'] ?? 0) + 1;
      records.push({
        kind: step.kind,
        target: step.target,
        injectMs,
        healMs,
        windowEndMs,
        checksEndMs,
        // The rate before counts only while this load ran: not the checks before it.
        recovery: commitRecovery(commitTimes(), injectMs, windowEndMs, options.gapMs, Math.min(RATE_WINDOW_MS, injectMs - loadStartMs)),
        backAfterHealMs: backAfterHealMs === null ? null : Math.round(backAfterHealMs),
        rejoined: 'afterHealMs' in rejoined ? { afterHealMs: Math.round(rejoined.afterHealMs) } : rejoined,
        standingSeen: [...standingSeen],
        committed: inWindow.filter((transfer) => transfer.outcome === 'committed').length,
        unknown: inWindow.filter((transfer) => transfer.outcome === 'unknown').length,
        aborted: inWindow.filter((transfer) => transfer.outcome === 'not-committed').length,
        abortCodes,
        suspicions: countsAfter.suspicions - countsBefore.suspicions,
        viewsInstalled: countsAfter.viewsInstalled - countsBefore.viewsInstalled,
        transactionsRecovered: countsAfter.transactionsRecovered - countsBefore.transactionsRecovered,
        checks,
        notes,
      });
      if (index < options.steps.length - 1) {
        workload = startLoad(index + 1);
        loadStartMs = now();
        await delay(options.settleMs, undefined, { signal: options.signal });
      }
    }
    measured = { network, records, commitTimesMs: commitTimes(), endMs: now(), transferCount: transfers.length };
  } finally {
    if (workload) await workload.stop();
    say('stopping the cluster');
    stopProblems = await cluster.stop();
    for (const problem of stopProblems) say(`stopping: ${problem}`);
  }
  return { ...measured, stopProblems };
}

async function inject(cluster: NemesisCluster, step: FaultStep, notes: string[]): Promise<void> {
  switch (step.kind) {
    case 'kill':
      await cluster.kill(step.target);
      break;
    case 'pause':
      await cluster.signal(step.target, 'SIGSTOP');
      break;
    case 'partition':
      await cluster.cut(step.target);
      break;
    case 'none':
      notes.push('no fault: the same load and window, to see what a healthy cluster does');
      break;
  }
}

async function heal(cluster: NemesisCluster, step: FaultStep, notes: string[]): Promise<void> {
  switch (step.kind) {
    case 'kill': {
      const result = await cluster.restart(step.target);
      if (!result.started) notes.push(`restart failed: ${result.reason}`);
      break;
    }
    case 'pause':
      await cluster.signal(step.target, 'SIGCONT');
      break;
    case 'partition':
      await cluster.heal(step.target);
      break;
    case 'none':
      break;
  }
}

/** The bank check through a middleware that is not the target (failing over if it must), and verify. */
async function checkInvariants(cluster: NemesisCluster, transfers: readonly Transfer[], step: FaultStep, bank: BankOptions): Promise<InvariantChecks> {
  const via = cluster.middlewareIds.find((id) => `MIDDLEWARE${id}` !== step.target.toUpperCase()) ?? cluster.middlewareIds[0]!;
  const verdict = await checkBank(cluster, transfers, via, bank);
  const verify = await verifyClean(cluster, VERIFY_ATTEMPTS);
  return {
    totalRead: verdict.totalRead,
    totalExpected: bank.accounts * bank.initial,
    lostAcknowledged: verdict.lostCount,
    bankProblems: verdict.problems,
    replicasIdentical: verify.clean,
    verifyDifferences: verify.differences,
  };
}

function skippedRecord(step: FaultStep, why: string, atMs: number): FaultRecord {
  return {
    kind: step.kind,
    target: step.target,
    skipped: why,
    injectMs: atMs,
    healMs: atMs,
    windowEndMs: atMs,
    checksEndMs: atMs,
    recovery: null,
    backAfterHealMs: null,
    rejoined: { notKnown: 'skipped' },
    standingSeen: [],
    committed: 0,
    unknown: 0,
    aborted: 0,
    abortCodes: {},
    suspicions: 0,
    viewsInstalled: 0,
    transactionsRecovered: 0,
    checks: { totalRead: null, totalExpected: 0, lostAcknowledged: 0, bankProblems: [], replicasIdentical: true, verifyDifferences: [] },
    notes: [],
  };
}

function describeStanding(standing: Standing | 'no-answer'): string {
  if (standing === 'no-answer') return 'status round not over within its deadline';
  const place = standing.place === 'joining' && standing.sync ? `joining (transfer ${standing.sync.complete ? 'complete' : 'under way'})` : standing.place ?? 'no view';
  return `${place}${standing.reason ? `: ${standing.reason}` : ''}`;
}

/**
 * Whether a transfer committed after `sinceMs` (performance.now() time). Transfers are recorded
 * as they end, so the search walks back from the newest and stops at the first one older.
 */
function committedSince(transfers: readonly Transfer[], sinceMs: number): boolean {
  for (let index = transfers.length - 1; index >= 0 && transfers[index]!.endMs > sinceMs; index--) {
    if (transfers[index]!.outcome === 'committed') return true;
  }
  return false;
}
