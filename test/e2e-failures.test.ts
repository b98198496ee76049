// Middleware failures on real processes: 3 middlewares and 3 databases (OCC) under a bank
// workload whose clients fail over between the middlewares (test/helpers/bank.ts). After each
// fault: the total read through a middleware, every acknowledged transfer's marker on every
// replica, each replica's accounts equal to the initial balances plus the transfers whose
// markers it holds, the replicas identical (occdb verify), and the longest stretch without a
// commit logged and bounded (generously: speed is the benchmarks' business).
//  - kill -9 of each middleware, which then restarts as its next life; two killed 600 ms apart;
//  - SIGSTOP for 3 s: removed meanwhile, it wakes, rejoins as a new incarnation, commits again;
//  - a coordinator dead between two APPLYs (crash-after-first-apply): recovered everywhere, its
//    client told TXN_OUTCOME_UNKNOWN; with skip-recovery, verify finds the replicas differ;
//  - an APPLY delayed past the view that removed its coordinator (pause-before-first-apply):
//    fenced; with the databases' skip-fencing, the bank check finds half a transfer;
//  - a transfer reading its coordinator's decided-but-unfinished write (hold-first-apply): the
//    vote waits; with skip-finished-wait it commits on a write recovery drops, and the check
//    finds the total short.
// Each test starts its own cluster in a fresh temporary directory; TestCluster.stop() kills every
// process by PID (a stopped one too) whatever happened.
import test, { type ExecutionContext } from 'ava';
import { TestCluster } from './helpers/cluster.js';
import { OccdbClient } from '../client/client.js';
import { compareIncarnations, parseIncarnation } from '../view/types.js';
import { BANK_DEFAULTS, BankWorkload, checkBank, runTransfer, setupBank, sleep, verifyClean, waitFor, warmUp, type Transfer } from './helpers/bank.js';
import { isStopped, waitForExit } from './helpers/processes.js';

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

/** Runs until commits resumed after `faultMs` (or the bound ran out); logs and asserts the gap. */
async function measureResume(t: ExecutionContext, workload: BankWorkload, faultMs: number, what: string): Promise<number> {
  const resumed = await workload.runUntil({ sinceMs: faultMs, count: 30, minimumUntilMs: faultMs + 4_000, timeoutMs: RESUME_BOUND_MS + 5_000 });
  const gapMs = workload.longestGap(faultMs, performance.now());
  t.log(`${what}: longest stretch without a commit after the fault ${(gapMs / 1000).toFixed(2)} s`);
  t.true(resumed, `commits did not resume after ${what}`);
  t.true(gapMs < RESUME_BOUND_MS, `no commit for ${gapMs} ms after ${what}`);
  return gapMs;
}

/** Used again: a transfer run on MIDDLEWARE<id> alone (no failover) commits. */
async function runDirect(t: ExecutionContext, cluster: TestCluster, workload: BankWorkload, id: number): Promise<void> {
  const direct = OccdbClient.connect(`MIDDLEWARE${id}`, { clusterFile: cluster.file, failover: false });
  try {
    const transfer = await runTransfer(direct, { marker: `m99x${id}`, from: 0, to: 1, amount: 1, client: 99 }, 10_000);
    workload.transfers.push(transfer);
    t.is(transfer.outcome, 'committed', `a transfer on MIDDLEWARE${id} alone: ${JSON.stringify(transfer)}`);
    t.is(transfer.middlewareId, id);
  } finally {
    direct.close();
  }
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
  const cli = await cluster.occdbVerify();
  t.is(cli.code, 0, `occdb verify: ${cli.stdout}${cli.stderr}`);
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
      // Restarted on its directory, it joins as its next life while the transfers go on, and runs transfers again.
      const before = await cluster.status(survivor);
      const restartMs = performance.now();
      await cluster.startMiddleware(victim);
      t.log(`MIDDLEWARE${victim} restarted and joined in ${((performance.now() - restartMs) / 1000).toFixed(2)} s`);
      const after = await cluster.status(victim);
      const oldLife = before.view!.members.find((member) => member.id === victim);
      t.is(oldLife, undefined, `the survivors' view still has MIDDLEWARE${victim}: ${JSON.stringify(before.view)}`);
      t.true(after.view!.members.some((member) => member.id === victim && member.incarnation === after.incarnation));
      t.is(parseIncarnation(after.incarnation!).boot, 2);
      await runDirect(t, cluster, workload, victim);
      await workload.stop();
      await checkAfterFault(t, cluster, workload, survivor);
    } finally {
      await workload?.stop();
      await cluster.stop();
    }
  });
}

test.serial('kill -9 of MIDDLEWARE1, then of MIDDLEWARE2 600 ms later, while the view without MIDDLEWARE1 is being installed: MIDDLEWARE3 removes both and commits alone', async (t) => {
  // MIDDLEWARE3 proposes a view without MIDDLEWARE1 that still has MIDDLEWARE2, which dies before
  // it answers the installation's stop. The removal under way must take MIDDLEWARE2 along (it
  // used to retry that installation until its 60 s deadline, suspecting MIDDLEWARE2 in vain).
  const cluster = await TestCluster.start({ middlewares: 3, databases: 3 });
  let workload: BankWorkload | undefined;
  try {
    await setupBank(cluster, 3);
    workload = new BankWorkload(cluster, { ...BANK_DEFAULTS, clientMiddlewares: CLIENT_MIDDLEWARES, seed: 5 });
    await warmUp(workload);
    const faultMs = performance.now();
    cluster.signalMiddleware(1, 'SIGKILL');
    await sleep(600);
    cluster.signalMiddleware(2, 'SIGKILL');
    await measureResume(t, workload, faultMs, 'kill -9 of MIDDLEWARE1 and MIDDLEWARE2 600 ms apart');
    await workload.stop();
    const status = await cluster.status(3);
    t.deepEqual(status.view!.members.map((member) => member.id), [3]);
    await checkAfterFault(t, cluster, workload, 3);
  } finally {
    await workload?.stop();
    await cluster.stop();
  }
});

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
    await runDirect(t, cluster, workload, 2);
    await checkAfterFault(t, cluster, workload, 2);
  } finally {
    await workload?.stop();
    await cluster.stop();
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * MIDDLEWARE3 runs with crash-after-first-apply: the first transfer it decides reaches one
 * database, then the process kills itself. Returns what the client of that transfer learnt, the
 * transfer, and when the process died.
 */
async function crashBetweenApplies(t: ExecutionContext, cluster: TestCluster, workload: BankWorkload): Promise<{ transfer: Transfer; crashMs: number }> {
  const client = OccdbClient.connect('MIDDLEWARE3', { clusterFile: cluster.file, failover: false });
  try {
    const transfer = await runTransfer(client, { marker: 'm98x0', from: 0, to: 1, amount: 5, client: 98 }, 20_000);
    workload.transfers.push(transfer);
    const exit = await waitForExit(cluster.middlewareProcesses.get(3)!, 10_000);
    t.deepEqual(exit, { code: null, signal: 'SIGKILL' }, 'MIDDLEWARE3 did not kill itself');
    t.regex(cluster.middlewareLog(3), /FAULT crash-after-first-apply/);
    return { transfer, crashMs: performance.now() };
  } finally {
    client.close();
  }
}

test.serial('a coordinator killed between two of its APPLYs: the others remove it and recover the transfer onto every database; its client gets TXN_OUTCOME_UNKNOWN', async (t) => {
  const cluster = await TestCluster.start({ middlewares: 3, databases: 3, middlewareArguments: (id) => (id === 3 ? ['--fault', 'crash-after-first-apply'] : []) });
  let workload: BankWorkload | undefined;
  try {
    await setupBank(cluster, 1);
    workload = new BankWorkload(cluster, { ...BANK_DEFAULTS, clientMiddlewares: [1, 2, 1, 2], seed: 11 });
    await warmUp(workload);
    const { transfer, crashMs } = await crashBetweenApplies(t, cluster, workload);
    t.is(transfer.outcome, 'unknown', `the client of the half-applied transfer was told ${transfer.outcome} ${transfer.code ?? ''}`);
    t.is(transfer.code, 'TXN_OUTCOME_UNKNOWN');
    await measureResume(t, workload, crashMs, 'the crash of MIDDLEWARE3 between two APPLYs');
    await workload.stop();
    const recoveredLines = cluster.middlewareIds.filter((id) => id !== 3).flatMap((id) => [...cluster.middlewareLog(id).matchAll(/installation of view \d+ finished in \d+ ms: (\d+) transactions of removed members recovered/g)].map((match) => Number(match[1])));
    t.log(`installations finished at MIDDLEWARE1 and 2, transactions recovered by each: ${recoveredLines.join(', ')}`);
    t.true(recoveredLines.some((count) => count >= 1), 'no installation recovered anything');
    await checkAfterFault(t, cluster, workload, 1);
    const bank = await checkBank(cluster, workload.transfers, 1);
    for (const database of cluster.databaseIds) t.true(bank.markers.get(database)!.has(transfer.marker), `DATABASE${database} lacks the recovered transfer`);
  } finally {
    await workload?.stop();
    await cluster.stop();
  }
});

test.serial('broken on purpose (skip-recovery on the survivors): the half-applied transfer stays on one database, and verify finds the replicas differ', async (t) => {
  const cluster = await TestCluster.start({ middlewares: 3, databases: 3, middlewareArguments: (id) => ['--fault', id === 3 ? 'crash-after-first-apply' : 'skip-recovery'] });
  let workload: BankWorkload | undefined;
  try {
    await setupBank(cluster, 1);
    workload = new BankWorkload(cluster, { ...BANK_DEFAULTS, clientMiddlewares: [1, 2, 1, 2], seed: 13 });
    await warmUp(workload);
    const { transfer, crashMs } = await crashBetweenApplies(t, cluster, workload);
    t.is(transfer.code, 'TXN_OUTCOME_UNKNOWN');
    await measureResume(t, workload, crashMs, 'the crash of MIDDLEWARE3 between two APPLYs (no recovery)');
    await workload.stop();
    const bank = await checkBank(cluster, workload.transfers, 1);
    const holders = cluster.databaseIds.filter((database) => bank.markers.get(database)!.has(transfer.marker));
    t.is(holders.length, 1, `the half-applied transfer is on ${holders.map((id) => `DATABASE${id}`).join(', ')}`);
    const verify = await verifyClean(cluster, 2);
    t.false(verify.clean, 'verify found the replicas identical without recovery');
    const cli = await cluster.occdbVerify();
    t.is(cli.code, 1, `occdb verify: ${cli.stdout}${cli.stderr}`);
    t.regex(cli.stdout, new RegExp(transfer.marker));
    t.log(`verify: ${verify.differences.join('; ')}`);
    t.log(`bank checks: ${bank.problems.join('; ') || 'none'}`);
  } finally {
    await workload?.stop();
    await cluster.stop();
  }
});

/**
 * An APPLY delayed past the view that removed its coordinator: MIDDLEWARE3 (pause-before-first-apply)
 * decides transfer T1 (acct0 -> acct1) and stops itself before its APPLYs leave; the others
 * remove it and install a view; a transfer on MIDDLEWARE1 then moves money between the same two
 * accounts (newer versions); MIDDLEWARE3 is continued and its APPLYs go out in the removed life's
 * name. Fenced, the databases refuse them and T1 never happened. Unfenced, T1's marker lands but
 * its account writes lose to the newer versions (Thomas rule): half a transfer.
 */
async function delayedApply(t: ExecutionContext, options: { skipFencing: boolean }): Promise<{ problems: string[]; t1: Transfer; markers: Map<number, Set<string>>; removals: string[] }> {
  const cluster = await TestCluster.start({
    middlewares: 3,
    databases: 3,
    middlewareArguments: (id) => (id === 3 ? ['--fault', 'pause-before-first-apply'] : []),
    ...(options.skipFencing ? { databaseArguments: () => ['--fault', 'skip-fencing'] } : {}),
  });
  let workload: BankWorkload | undefined;
  const client3 = OccdbClient.connect('MIDDLEWARE3', { clusterFile: cluster.file, failover: false });
  const client1 = OccdbClient.connect('MIDDLEWARE1', { clusterFile: cluster.file, failover: false });
  try {
    await setupBank(cluster, 1);
    // Transfers elsewhere go on throughout, on the accounts T1 does not touch.
    workload = new BankWorkload(cluster, { ...BANK_DEFAULTS, clientMiddlewares: [1, 2, 1, 2], seed: 17, accountsUsed: [2, 3, 4, 5, 6, 7, 8, 9] });
    await warmUp(workload);
    const pid3 = cluster.middlewareProcesses.get(3)!.pid!;
    const t1Running = runTransfer(client3, { marker: 'm97x0', from: 0, to: 1, amount: 7, client: 97 }, 30_000);
    await waitFor('MIDDLEWARE3 to stop itself after deciding T1', () => isStopped(pid3), 10_000);
    const pausedMs = performance.now();
    let t1: Transfer;
    try {
      await waitFor('a view without MIDDLEWARE3 installed at MIDDLEWARE1', async () => !(await cluster.status(1)).view!.members.some((member) => member.id === 3), 10_000);
      const newer = await runTransfer(client1, { marker: 'm97x1', from: 1, to: 0, amount: 1, client: 97 }, 10_000);
      workload.transfers.push(newer);
      t.is(newer.outcome, 'committed', `the transfer on the same accounts after the removal: ${JSON.stringify(newer)}`);
    } finally {
      cluster.signalMiddleware(3, 'SIGCONT');
    }
    t1 = await t1Running;
    workload.transfers.push(t1);
    t.log(`T1's client was told ${t1.outcome}${t1.code ? ` (${t1.code})` : ''}`);
    await measureResume(t, workload, pausedMs, 'MIDDLEWARE3 stopped between its decision and its APPLYs');
    await waitFor('MIDDLEWARE3 to log that it rejoined', () => /rejoined as incarnation/.test(cluster.middlewareLog(3)), 20_000).catch((error: Error) => t.log(error.message));
    await workload.stop();
    t.log(`transfers: ${workload.summary()}`);
    const bank = await checkBank(cluster, workload.transfers, 1);
    const verify = await verifyClean(cluster);
    t.log(`verify: ${verify.clean ? 'identical' : verify.differences.join('; ')}`);
    const removals = cluster.middlewareLog(3).split('\n').filter((line) => /was removed from the cluster/.test(line)).map((line) => line.replace(/^.*?(this life)/, '$1'));
    return { problems: [...bank.problems, ...(verify.clean ? [] : ['the replicas differ'])], t1, markers: bank.markers, removals };
  } finally {
    client1.close();
    client3.close();
    await workload?.stop();
    await cluster.stop();
  }
}

test.serial('an APPLY delayed past the view that removed its coordinator is fenced off: the transfer never happened, its client gets TXN_OUTCOME_UNKNOWN', async (t) => {
  const { problems, t1, markers, removals } = await delayedApply(t, { skipFencing: false });
  t.deepEqual(problems, []);
  t.is(t1.code, 'TXN_OUTCOME_UNKNOWN');
  for (const line of removals) t.log(`MIDDLEWARE3: ${line}`);
  for (const [database, present] of markers) t.false(present.has(t1.marker), `DATABASE${database} has the fenced transfer`);
});

test.serial('broken on purpose (databases with skip-fencing): the delayed APPLY lands half a transfer, and the bank check finds it', async (t) => {
  const { problems } = await delayedApply(t, { skipFencing: true });
  t.log(problems.join('\n'));
  t.true(problems.some((problem) => /acct0/.test(problem) && /acct1/.test(problem)), 'the unfenced APPLY went unnoticed');
});

/**
 * A transfer that read a decided write its coordinator never finished: MIDDLEWARE3
 * (hold-first-apply) decides T1 (acct0 -> acct1) and never sends its APPLYs; T2 (acct0 -> acct2)
 * on MIDDLEWARE3 then reads acct0 from T1's write in memory. MIDDLEWARE3's own vote on T2 must
 * wait until T1 is finished (never, here); then MIDDLEWARE3 is killed, and recovery drops T1,
 * found on no database. Without the wait (skip-finished-wait) T2 commits on T1's value, and
 * once T1 is dropped, acct0 carries T1's debit with no credit anywhere.
 */
async function unfinishedRead(t: ExecutionContext, options: { skipFinishedWait: boolean }): Promise<{ problems: string[]; t1: Transfer; t2: Transfer; markers: Map<number, Set<string>> }> {
  const faults = ['hold-first-apply', ...(options.skipFinishedWait ? ['skip-finished-wait'] : [])];
  const cluster = await TestCluster.start({ middlewares: 3, databases: 3, middlewareArguments: (id) => (id === 3 ? ['--fault', ...faults] : []) });
  let workload: BankWorkload | undefined;
  const clientT1 = OccdbClient.connect('MIDDLEWARE3', { clusterFile: cluster.file, failover: false });
  const clientT2 = OccdbClient.connect('MIDDLEWARE3', { clusterFile: cluster.file, failover: false });
  try {
    await setupBank(cluster, 1);
    workload = new BankWorkload(cluster, { ...BANK_DEFAULTS, clientMiddlewares: [1, 2, 1, 2], seed: 19, accountsUsed: [3, 4, 5, 6, 7, 8, 9] });
    await warmUp(workload);
    const t1Running = runTransfer(clientT1, { marker: 'm96x0', from: 0, to: 1, amount: 7, client: 96 }, 30_000);
    await waitFor('MIDDLEWARE3 to hold T1\'s APPLYs', () => /FAULT hold-first-apply/.test(cluster.middlewareLog(3)), 10_000);
    const t2Running = runTransfer(clientT2, { marker: 'm96x1', from: 0, to: 2, amount: 3, client: 96 }, 30_000);
    // T2 is answered at once without the wait; with it, it waits for T1 (for good, here).
    const t2Early = await Promise.race([t2Running, sleep(3_000).then(() => undefined)]);
    t.log(`T2 ${t2Early ? `answered before the kill: ${t2Early.outcome}` : 'not answered 3 s after it was sent'}`);
    const killMs = performance.now();
    cluster.signalMiddleware(3, 'SIGKILL');
    const [t1, t2] = await Promise.all([t1Running, t2Running]);
    workload.transfers.push(t1, t2);
    t.log(`T1's client was told ${t1.outcome}${t1.code ? ` (${t1.code})` : ''}; T2's ${t2.outcome}${t2.code ? ` (${t2.code})` : ''}`);
    await measureResume(t, workload, killMs, 'kill -9 of MIDDLEWARE3 holding a decided write');
    await workload.stop();
    t.log(`transfers: ${workload.summary()}`);
    const bank = await checkBank(cluster, workload.transfers, 1);
    const verify = await verifyClean(cluster);
    t.log(`verify: ${verify.clean ? 'identical' : verify.differences.join('; ')}`);
    return { problems: [...bank.problems, ...(verify.clean ? [] : ['the replicas differ'])], t1, t2, markers: bank.markers };
  } finally {
    clientT1.close();
    clientT2.close();
    await workload?.stop();
    await cluster.stop();
  }
}

test.serial('a vote waits for its own decided write to finish: a transfer that read a write recovery later drops never commits', async (t) => {
  const { problems, t1, t2, markers } = await unfinishedRead(t, { skipFinishedWait: false });
  t.deepEqual(problems, []);
  t.is(t1.code, 'TXN_OUTCOME_UNKNOWN');
  t.not(t2.outcome, 'committed');
  for (const [database, present] of markers) t.false(present.has(t1.marker) || present.has(t2.marker), `DATABASE${database} has T1 or T2`);
});

test.serial('broken on purpose (skip-finished-wait): a transfer commits on a write recovery then drops, and the bank check finds it', async (t) => {
  const { problems, t2 } = await unfinishedRead(t, { skipFinishedWait: true });
  t.log(problems.join('\n'));
  t.is(t2.outcome, 'committed', 'T2 did not commit: the construction did not reach the anomaly');
  t.true(problems.some((problem) => /acct0/.test(problem)), 'the dropped write T2 depended on went unnoticed');
});
