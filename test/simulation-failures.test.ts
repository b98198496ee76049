// The seeded simulation under middleware and database failures. Middlewares: crashes (memory
// lost, restart as a new incarnation), crashes between a coordinator's APPLYs to different
// databases, network blips followed by a crash (decided writes whose APPLYs never left), pauses
// (nothing runs; messages and timers wait) and partitions (one middleware cut off). Databases:
// crashes (what is not stored is lost; down a while, back with a stale store), pauses and
// partitions, after which each must be removed, join (cleared), be brought up to date and be
// promoted. One fault at a time, drawn from the seed, on top of message loss and reordering.
// The view cores run as in production (the production keeper core, view/keeper.ts, watching
// the databases too, driven by test/simulation/view-keeper.ts); the databases are the Paxos
// acceptors, fence, keep the recent-commits log and take state transfers. Every run is checked:
// the history (serializable, real-time order), the final state of the final view's replicas,
// and invariants 1, 2, 4, 5, 6, 7 and 9 of docs/design.md "What the tests must show". Then the
// builds broken on purpose. A failing seed replays alone with
// SIM_SEED=<seed> npx ava dist/test/simulation-failures.test.js (add --match '*<variant>*' for one
// variant, and SIM_TRACE=1 to print every event and effect of the run, the keepers' log lines included).
import test from 'ava';
import { simulate, type DatabaseFaultKind, type MiddlewareFaultKind, type SimulationOptions } from './simulation/simulator.js';
import { seeds } from './simulation/seeds.js';
import { checksFailed, describeRun, problemsOf } from './simulation/verdict.js';

const ALL_FAULTS: readonly MiddlewareFaultKind[] = ['crash', 'crash-mid-apply', 'blip-crash', 'pause', 'partition'];
const ALL_DATABASE_FAULTS: readonly DatabaseFaultKind[] = ['crash', 'pause', 'partition'];
/** SIM_TRACE=1 with SIM_SEED: the run's trace, to stdout (a whole sweep would print millions of lines). */
const TRACE = process.env.SIM_TRACE && process.env.SIM_SEED ? (line: string): void => console.log(line) : null;
/** How many failing seeds a sweep describes. */
const FAILURES_SHOWN = 3;
/** After database faults, the run goes on at least this long after the last (and until every database is back). */
const DATABASE_SETTLE_MS = 6_000;

const BASE: Omit<SimulationOptions, 'seed'> = {
  middlewares: 3,
  replicas: 3,
  clientsPerMiddleware: 2,
  keys: 6,
  transactions: 150,
  delayMsMax: 20,
  dropProbability: 0.01,
  requestTimeoutMs: 200,
  retryCountMax: 50,
  middlewareFaults: { count: 2, kinds: ALL_FAULTS },
  settleMs: 2_500,
};

const variants: Array<{ name: string; seeds: number; options: Partial<SimulationOptions> }> = [
  { name: '3 middlewares, 3 databases, two faults of any kind', seeds: 1000, options: {} },
  { name: '3 middlewares, 3 databases, three faults, slow messages', seeds: 600, options: { middlewareFaults: { count: 3, kinds: ALL_FAULTS }, slowMessageProbability: 0.03, slowMessageDelayMsMax: 300 } },
  { name: '5 middlewares, 3 databases, two faults, more loss', seeds: 400, options: { middlewares: 5, dropProbability: 0.03 } },
  { name: '3 middlewares, 5 databases, hot keys, few finished writes remembered', seeds: 400, options: { replicas: 5, keys: 3, finishedWritesMax: 2 } },
  { name: '3 middlewares, 3 databases, two database faults of any kind', seeds: 300, options: { middlewareFaults: { count: 0, kinds: ALL_FAULTS }, databaseFaults: { count: 2, kinds: ALL_DATABASE_FAULTS }, settleMs: DATABASE_SETTLE_MS } },
  { name: '3 middlewares, 3 databases, two middleware and two database faults mixed', seeds: 200, options: { databaseFaults: { count: 2, kinds: ALL_DATABASE_FAULTS }, settleMs: DATABASE_SETTLE_MS } },
  // The member that would run the transfer dies between its APPLYs, one sent to the joining database only.
  { name: '3 middlewares, 3 databases, a database returns and a coordinator dies while it joins', seeds: 100, options: { middlewareFaults: { count: 0, kinds: ALL_FAULTS }, databaseFaults: { count: 2, kinds: ['crash', 'partition'], paired: 'crash-while-joining' }, settleMs: DATABASE_SETTLE_MS } },
  // A write on one database only, which then fails: recovery cannot read it, and it must not come back with the database.
  { name: '3 middlewares, 3 databases, 100 keys, a database fails holding a dead coordinator\'s write alone', seeds: 100, options: { middlewareFaults: { count: 0, kinds: ALL_FAULTS }, keys: 100, clientsPerMiddleware: 1, databaseFaults: { count: 2, kinds: ['crash', 'partition'], paired: 'after-crash-mid-apply' }, settleMs: DATABASE_SETTLE_MS } },
];

for (const variant of variants) {
  test(`simulation with failures (${variant.name}): every invariant holds`, (t) => {
    const startedMs = Date.now();
    const list = seeds(variant.seeds);
    let committed = 0;
    let unknown = 0;
    let resumeMsMax = 0;
    let faults = 0;
    let views = 0;
    let databaseRemovals = 0;
    /** The failing seeds, and what the first few broke (ava shows one failure per test: all are in it). */
    const failing: number[] = [];
    const failures: string[] = [];
    for (const seed of list) {
      const result = simulate({ ...BASE, ...variant.options, seed, ...(TRACE ? { trace: TRACE } : {}) });
      const problems = problemsOf(result);
      if (problems.length > 0) {
        failing.push(seed);
        if (failures.length < FAILURES_SHOWN) failures.push(`seed ${seed}: replay with SIM_SEED=${seed}\n${describeRun(result)}\n${problems.join('\n')}`);
      }
      committed += result.committed;
      unknown += result.unknown;
      faults += result.faultsInjected.length;
      views += result.views;
      databaseRemovals += result.databaseRemovals;
      resumeMsMax = Math.max(resumeMsMax, result.resumeMs ?? 0);
    }
    t.log(`${list.length} seeds in ${Date.now() - startedMs} ms: ${faults} faults, ${views} views (${databaseRemovals} removing a database), ${committed} commits, ${unknown} outcomes unknown; commits resumed at most ${resumeMsMax.toFixed(0)} ms after the last fault`);
    if (failing.length > 0) t.fail(`${failing.length} of ${list.length} seeds failed (${variant.name}): ${failing.join(', ')}\n\n${failures.join('\n\n')}`);
    t.true(committed > 0);
  });
}

// Each mechanism of failure handling, switched off on purpose, must be caught within a bounded
// number of seeds, by some check; the test logs which checks caught it at the first seed. A seed
// whose only failures are of 9 (commits or databases not back) does not count: these mechanisms
// guard safety, and a correct build can fail 9 too while a liveness bug is open.
const DATABASE_FAULTS_ONLY: Partial<SimulationOptions> = { middlewareFaults: { count: 0, kinds: ALL_FAULTS }, settleMs: DATABASE_SETTLE_MS };
const broken: Array<{ name: string; seedsMax: number; options: Partial<SimulationOptions> }> = [
  { name: 'fencing off at the databases (skipFencing)', seedsMax: 100, options: { skipFencing: true } },
  { name: 'recovery off at installation (skipRecovery)', seedsMax: 100, options: { skipRecovery: true } },
  // The wait matters only when a write its reader's commit depended on lands nowhere: its
  // APPLYs lost and its coordinator dead before resending them (blip-crash).
  { name: 'the finished-write vote wait off (skipFinishedWait)', seedsMax: 100, options: { faults: { skipFinishedWait: true }, middlewareFaults: { count: 4, kinds: ['blip-crash'] } } },
  { name: 'state transfer skipped (keeper fault skipTransfer)', seedsMax: 100, options: { ...DATABASE_FAULTS_ONLY, databaseFaults: { count: 2, kinds: ALL_DATABASE_FAULTS }, keeperFaults: { skipTransfer: true } } },
  { name: 'a returning database admitted in sync (keeper fault admitReturningInSync)', seedsMax: 100, options: { ...DATABASE_FAULTS_ONLY, databaseFaults: { count: 2, kinds: ALL_DATABASE_FAULTS }, keeperFaults: { admitReturningInSync: true } } },
  // Recovery must read the joining databases too: a coordinator that dies while one joins may have reached it alone.
  { name: 'recovery on the replicas only (keeper fault recoverReplicasOnly)', seedsMax: 100, options: { ...DATABASE_FAULTS_ONLY, databaseFaults: { count: 2, kinds: ['crash', 'partition'], paired: 'crash-while-joining' }, keeperFaults: { recoverReplicasOnly: true } } },
  // The clear matters for a write that a returning database alone held, its coordinator dead:
  // recovery forgot it; kept, it comes back (with many keys, before a later write hides it).
  { name: 'a joining database not cleared (replica fault skip-clear)', seedsMax: 100, options: { ...DATABASE_FAULTS_ONLY, keys: 100, clientsPerMiddleware: 1, databaseFaults: { count: 2, kinds: ['crash', 'partition'], paired: 'after-crash-mid-apply' }, replicaFault: 'skip-clear' } },
];
for (const { name, seedsMax, options } of broken) {
  test(`simulation with ${name} (broken on purpose): some seed breaks a checked invariant`, (t) => {
    for (let seed = 1; seed <= seedsMax; seed++) {
      const result = simulate({ ...BASE, ...options, seed });
      const problems = problemsOf(result);
      if (checksFailed(problems).some((check) => check !== 'invariant 9')) {
        t.log(`seed ${seed}: caught by ${checksFailed(problems).join(', ')}\n${problems.slice(0, 4).join('\n')}`);
        t.pass();
        return;
      }
    }
    t.fail(`no seed in 1..${seedsMax} exposed ${name}`);
  });
}
