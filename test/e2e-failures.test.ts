// Middleware failures on real processes: 3 middlewares and 3 databases (OCC) under a bank
// workload whose clients fail over between the middlewares.
import test, { type ExecutionContext } from 'ava';
import { TestCluster } from './helpers/cluster.js';
import { OccdbClient } from '../client/client.js';
import { compareIncarnations } from '../view/types.js';
import { BANK_DEFAULTS, BankWorkload, checkBank, runTransfer, setupBank, sleep, verifyClean, waitFor } from './helpers/bank.js';

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

test.serial('SIGSTOP of MIDDLEWARE2 for 3 s: the others remove it and go on; it wakes, learns it was removed, rejoins as a new incarnation and commits again', async (t) => {
  const cluster = await TestCluster.start({ middlewares: 3, databases: 3 });
  let workload: BankWorkload | undefined;
  try {
    await setupBank(cluster, 1);
    const before = await cluster.status(2);
    workload = new BankWorkload(cluster, { ...BANK_DEFAULTS, clientMiddlewares: CLIENT_MIDDLEWARES, seed: 7 });
    await warmUp(workload);
    const faultMs = performance.now();
    cluster.signalMiddleware(2, 'SIGSTOP');
    try {
      // The others must see it gone and install a view without it while it sleeps.
      await waitFor('a view without MIDDLEWARE2 installed at MIDDLEWARE1', async () => !(await cluster.status(1)).view!.members.some((member) => member.id === 2), 10_000);
      t.log(`view without MIDDLEWARE2 installed at MIDDLEWARE1 ${((performance.now() - faultMs) / 1000).toFixed(2)} s after SIGSTOP`);
      await sleep(Math.max(0, faultMs + 3_000 - performance.now()));
    } finally {
      cluster.signalMiddleware(2, 'SIGCONT');
    }
    const wokeMs = performance.now();
    await waitFor('MIDDLEWARE2 to log that it rejoined', () => /rejoined as incarnation/.test(cluster.middlewareLog(2)), 20_000);
    t.log(`MIDDLEWARE2 rejoined ${((performance.now() - wokeMs) / 1000).toFixed(2)} s after SIGCONT`);
    await measureResume(t, workload, faultMs, 'SIGSTOP of MIDDLEWARE2 (3 s)');
    t.log(`longest stretch without a commit after SIGCONT ${(workload.longestGap(wokeMs, performance.now()) / 1000).toFixed(2)} s`);
    await workload.stop();

    const log = cluster.middlewareLog(2);
    t.regex(log, new RegExp(`this life \\(incarnation ${escape(before.incarnation!)}\\) was removed from the cluster`));
    const after = await cluster.status(2);
    t.true(compareIncarnations(after.incarnation!, before.incarnation!) > 0, `incarnation ${after.incarnation} is not above ${before.incarnation}`);
    t.true(after.view!.members.some((member) => member.id === 2 && member.incarnation === after.incarnation), `MIDDLEWARE2's own view: ${JSON.stringify(after.view)}`);
    t.true(after.view!.epoch > before.view!.epoch);
    for (const id of [1, 3]) {
      const status = await cluster.status(id);
      t.deepEqual(status.view!.members.find((member) => member.id === 2), { id: 2, incarnation: after.incarnation }, `MIDDLEWARE${id}'s view: ${JSON.stringify(status.view)}`);
    }
    t.log(`MIDDLEWARE2: incarnation ${before.incarnation} -> ${after.incarnation}, view ${before.view!.epoch} -> ${after.view!.epoch}`);
    // Used again: a transfer run on it alone commits.
    const direct = OccdbClient.connect('MIDDLEWARE2', { clusterFile: cluster.file, failover: false });
    try {
      const transfer = await runTransfer(direct, { marker: 'm99x0', from: 0, to: 1, amount: 1, client: 99 }, 10_000);
      workload.transfers.push(transfer);
      t.is(transfer.outcome, 'committed', JSON.stringify(transfer));
      t.is(transfer.middlewareId, 2);
    } finally {
      direct.close();
    }
    await checkAfterFault(t, cluster, workload, 2);
  } finally {
    await workload?.stop();
    await cluster.stop();
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
