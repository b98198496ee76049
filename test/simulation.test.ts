// The seeded simulation of the pure optimistic core: 3+ middlewares and 2+ replicas over a
// fake network that delays, reorders and drops messages, the middlewares joining through views
// (test/simulation/view-keeper.ts drives the production keeper core, view/keeper.ts), a few
// hundred transactions per seed; the history checker (serializable, in real-time order), the
// final state and the simulator's invariants on every run. Middleware failures are in
// test/simulation-failures.test.ts. A failing seed is printed and can be replayed alone with
// SIM_SEED=<seed> npx ava dist/test/simulation.test.js.
import test from 'ava';
import { checkHistory, describeResult } from './history/checker.js';
import { simulate, type SimulationOptions } from './simulation/simulator.js';
import { seeds } from './simulation/seeds.js';
import { describeRun, problemsOf } from './simulation/verdict.js';

const BASE: Omit<SimulationOptions, 'seed'> = {
  middlewares: 3,
  replicas: 2,
  clientsPerMiddleware: 3,
  keys: 8,
  transactions: 300,
  delayMsMax: 20,
  dropProbability: 0.01,
  requestTimeoutMs: 200,
  retryCountMax: 50,
  settleMs: 0,
};

const variants: Array<{ name: string; seeds: number; options: Partial<SimulationOptions> }> = [
  { name: '3 middlewares, 2 replicas', seeds: 60, options: {} },
  { name: '5 middlewares, 3 replicas, more loss', seeds: 40, options: { middlewares: 5, replicas: 3, dropProbability: 0.03 } },
  { name: '3 middlewares, 3 replicas, hot keys', seeds: 60, options: { replicas: 3, keys: 3 } },
  { name: '4 middlewares, leaving cleanly and restarting in turn (views)', seeds: 40, options: { middlewares: 4, replicas: 3, membershipChurn: true } },
  { name: '3 middlewares that remember few finished writes (version checks)', seeds: 60, options: { finishedWritesMax: 2 } },
];

for (const variant of variants) {
  test(`simulation (${variant.name}): every history is serializable and replicas converge`, (t) => {
    const startedMs = Date.now();
    let totals = { committed: 0, readsFromMemory: 0, readsParked: 0, readsAwaitingWriters: 0 };
    const list = seeds(variant.seeds);
    for (const seed of list) {
      const result = simulate({ ...BASE, ...variant.options, seed });
      const problems = problemsOf(result);
      const where = `seed ${seed} (${variant.name}): replay with SIM_SEED=${seed}`;
      if (problems.length > 0) t.fail(`${where}\n${describeRun(result)}\n${problems.join('\n')}`);
      t.true(result.committed > BASE.transactions / 2, `${where}: only ${result.committed} commits`);
      if (variant.options.membershipChurn) t.true(result.membershipChanges >= 4, `${where}: only ${result.membershipChanges} membership changes`);
      totals = {
        committed: totals.committed + result.committed,
        readsFromMemory: totals.readsFromMemory + result.readsFromMemory,
        readsParked: totals.readsParked + result.readsParked,
        readsAwaitingWriters: totals.readsAwaitingWriters + result.readsAwaitingWriters,
      };
    }
    t.log(`${list.length} seeds in ${Date.now() - startedMs} ms: ${totals.committed} commits, ${totals.readsFromMemory} reads of decided writes, ${totals.readsParked} parked reads, ${totals.readsAwaitingWriters} reads awaiting remote writers`);
    if (list.length > 1) {
      t.true(totals.readsFromMemory > 0, 'no read took a decided write; that path went untested');
      t.true(totals.readsParked > 0, 'no read was parked; that path went untested');
      t.true(totals.readsAwaitingWriters > 0, 'no read awaited a remote writer; that path went untested');
    }
  });
}

// The checker and the simulation must be able to fail: with a piece of the protocol
// switched off on purpose, some seed must produce a history the checker rejects.
const faults: Array<{ fault: keyof NonNullable<SimulationOptions['faults']>; options: Partial<SimulationOptions> }> = [
  { fault: 'skipVotingRule', options: {} },
  { fault: 'skipFinishedWrites', options: {} },
  // The version check only runs when a voter cannot vouch: remember little, so it must.
  { fault: 'skipVersionCheck', options: { finishedWritesMax: 1 } },
  // Reads of writes whose transaction may still abort: dirty reads.
  { fault: 'readUndecidedWrites', options: {} },
  // The read path's one safety duty besides reading only committed writes: an entry carries
  // the version its value was written at. Parking, memory, remote writers and their waits are
  // not safety rules (every read is validated, whatever it returned), so switching one of them
  // off could not be caught by a checker; see the parking test below. This fault instead
  // trusts an at-least read to have got the version it awaited: when the replica's wait ran
  // out, an older value is recorded under the newer writer's version, and validation, which
  // sees only versions, lets the stale read through (lost updates).
  { fault: 'trustAwaitedVersions', options: {} },
];
for (const { fault, options } of faults) {
  test(`simulation with ${fault} (broken on purpose): the checker finds the anomaly`, (t) => {
    for (let seed = 1; seed <= 30; seed++) {
      const result = simulate({ ...BASE, keys: 4, transactions: 400, seed, faults: { [fault]: true }, ...options });
      const verdict = checkHistory(result.history);
      if (!verdict.ok) {
        t.log(`seed ${seed}: ${describeResult(verdict).split('\n').slice(0, 6).join('\n')}`);
        t.pass();
        return;
      }
    }
    t.fail(`no seed in 1..30 exposed ${fault}: the checker or the simulation cannot see this bug`);
  });
}

// Parking is not a safety rule: without it the histories are serializable still. What it buys
// is fewer doomed attempts: a read of a key an own transaction is validating would otherwise
// get the version that transaction is about to replace, and this middleware's own vote would
// then abort the reader.
test('simulation without read parking: still serializable, but more attempts abort than with it', (t) => {
  let abortsParked = 0;
  let abortsUnparked = 0;
  for (const seed of [1, 2, 3]) {
    const options = { ...BASE, replicas: 3, keys: 3, transactions: 800, seed };
    const parked = simulate(options);
    const unparked = simulate({ ...options, parkReads: false });
    for (const [name, result] of [['parked', parked], ['not parked', unparked]] as const) {
      const verdict = checkHistory(result.history);
      if (!verdict.ok) t.fail(`seed ${seed} (${name}): replay with SIM_SEED=${seed}\n${describeResult(verdict)}`);
    }
    t.is(unparked.readsParked, 0);
    t.log(`seed ${seed}: ${parked.aborted} aborted with parking (${parked.readsParked} reads parked), ${unparked.aborted} without, for ${parked.committed} and ${unparked.committed} commits`);
    abortsParked += parked.aborted / parked.committed;
    abortsUnparked += unparked.aborted / unparked.committed;
  }
  t.true(abortsParked < abortsUnparked, `aborts per commit, summed over seeds: ${abortsParked.toFixed(2)} with parking, ${abortsUnparked.toFixed(2)} without`);
});

// The database's rules run in the simulation too (test/simulation/replica.ts). Of them, only
// the Thomas rule carries safety: the read rules (a read sees admitted APPLYs, waits for an
// awaited version, the version re-read waits for admitted APPLYs) spare restarts, since every
// read is validated and a writer whose APPLY is still admitted somewhere is still in flight
// at its coordinator, whose vote catches a read that missed it. Broken on every replica, the
// Thomas rule must be seen by the simulation's checks.
// Slow messages: since votes wait for the voter's decided-but-unfinished writes, a read of such a
// write no longer lets its reader's APPLYs overtake the write's; only blind writes race, and
// messages stuck for a while make them overtake each other often enough.
test('simulation with the Thomas write rule off at the databases (broken on purpose): replicas diverge or keep a stale final value', (t) => {
  for (let seed = 1; seed <= 30; seed++) {
    const result = simulate({ ...BASE, keys: 4, transactions: 800, seed, replicaFault: 'thomas', slowMessageProbability: 0.05, slowMessageDelayMsMax: 100 });
    if (result.divergentKeys.length > 0 || result.wrongFinalKeys.length > 0) {
      t.log(`seed ${seed}: divergent ${result.divergentKeys.join(', ') || 'none'}; wrong final ${result.wrongFinalKeys.join(', ') || 'none'}`);
      t.pass();
      return;
    }
  }
  t.fail('no seed in 1..30 exposed a database without the Thomas rule');
});
