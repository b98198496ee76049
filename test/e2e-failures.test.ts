// Middleware failures on real processes: 3 middlewares and 3 databases (OCC) under a bank
// workload whose clients fail over between the middlewares.
import test, { type ExecutionContext } from 'ava';
import { TestCluster } from './helpers/cluster.js';
import { BANK_DEFAULTS, BankWorkload, checkBank, setupBank, verifyClean } from './helpers/bank.js';

const CLIENT_MIDDLEWARES = [1, 2, 3, 1, 2, 3];
/** Commits must resume within this after a fault (a generous bound: speed is measured by the benchmarks). */
const RESUME_BOUND_MS = 15_000;

/** The lines of each middleware's log that tell the story of a fault (views, removals, faults), for a failing test. */
function viewLines(cluster: TestCluster): string {
  return cluster.middlewareIds.map((id) => {
    const lines = cluster.middlewareLog(id).split('\n').filter((line) => /view|remov|rejoin|suspect|FAULT|fenced|FENCED|recover|incarnation|abandon|ERROR/i.test(line) && !/debug/i.test(line.slice(0, 40)));
    return `--- MIDDLEWARE${id} ---\n${lines.slice(-40).join('\n')}`;
  }).join('\n');
}

async function warmUp(workload: BankWorkload): Promise<void> {
  const startMs = performance.now();
  if (!(await workload.runUntil({ sinceMs: 0, count: 50, minimumUntilMs: startMs + 1_500, timeoutMs: 20_000 }))) {
    throw new Error(`the workload did not get going before the fault: ${workload.summary()}`);
  }
}

/** Runs until commits resumed after `faultMs` (or the bound ran out); logs and asserts the gap. */
async function measureResume(t: ExecutionContext, workload: BankWorkload, faultMs: number, what: string): Promise<number> {
  const resumed = await workload.runUntil({ sinceMs: faultMs, count: 30, minimumUntilMs: faultMs + 4_000, timeoutMs: RESUME_BOUND_MS + 5_000 });
  const gapMs = workload.longestGap(faultMs, performance.now());
  t.log(`${what}: longest stretch without a commit after the fault ${(gapMs / 1000).toFixed(2)} s`);
  t.true(resumed, `commits did not resume after ${what}`);
  t.true(gapMs < RESUME_BOUND_MS, `no commit for ${gapMs} ms after ${what}`);
  return gapMs;
}

async function checkAfterFault(t: ExecutionContext, cluster: TestCluster, workload: BankWorkload, via: number): Promise<void> {
  t.log(`transfers: ${workload.summary()}`);
  const bank = await checkBank(cluster, workload.transfers, via);
  t.deepEqual(bank.problems, [], `the bank is broken:\n${viewLines(cluster)}`);
  const unknown = workload.transfers.filter((transfer) => transfer.outcome === 'unknown');
  const first = bank.markers.get(cluster.databaseIds[0]!)!;
  if (unknown.length > 0) t.log(`of the ${unknown.length} transfers of unknown outcome, ${unknown.filter((transfer) => first.has(transfer.marker)).length} committed`);
  const verify = await verifyClean(cluster);
  t.true(verify.clean, `the replicas differ: ${verify.differences.join('\n')}`);
}

for (const victim of [1, 2, 3]) {
  test.serial(`kill -9 of MIDDLEWARE${victim} during transfers: the total holds, nothing acknowledged is lost, replicas identical, commits resume`, async (t) => {
    const cluster = await TestCluster.start({ middlewares: 3, databases: 3 });
    let workload: BankWorkload | undefined;
    try {
      const survivor = victim === 1 ? 2 : 1;
      await setupBank(cluster, survivor);
      workload = new BankWorkload(cluster, { ...BANK_DEFAULTS, clientMiddlewares: CLIENT_MIDDLEWARES, seed: victim });
      await warmUp(workload);
      const faultMs = performance.now();
      cluster.signalMiddleware(victim, 'SIGKILL');
      await measureResume(t, workload, faultMs, `kill -9 of MIDDLEWARE${victim}`);
      await workload.stop();
      await checkAfterFault(t, cluster, workload, survivor);
    } finally {
      await workload?.stop();
      await cluster.stop();
    }
  });
}
