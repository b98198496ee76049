// The seeded simulation of the pure optimistic core: 3+ middlewares and 2+ replicas over a
// fake network that delays, reorders and drops messages; thousands of transactions per
// seed; the history checker on every resulting history. A failing seed is printed and can
// be replayed alone with SIM_SEED=<seed> npx ava dist/test/simulation.test.js.
import test from 'ava';
import { checkHistory, describeResult } from './history/checker.js';
import { simulate, type SimulationOptions } from './simulation/simulator.js';
import { seeds } from './simulation/seeds.js';

const BASE: Omit<SimulationOptions, 'seed'> = {
  middlewares: 3,
  replicas: 2,
  clientsPerMiddleware: 4,
  keys: 8,
  transactions: 1500,
  delayMsMax: 20,
  dropProbability: 0.01,
  requestTimeoutMs: 200,
  retryCountMax: 50,
};

const variants: Array<{ name: string; options: Partial<SimulationOptions> }> = [
  { name: '3 middlewares, 2 replicas', options: {} },
  { name: '5 middlewares, 3 replicas, more loss', options: { middlewares: 5, replicas: 3, dropProbability: 0.03 } },
  { name: '3 middlewares, 3 replicas, hot keys', options: { replicas: 3, keys: 3 } },
  { name: '4 middlewares, leaving and restarting in turn', options: { middlewares: 4, membershipChurn: true } },
  { name: '3 middlewares that remember few finished writes (version checks)', options: { finishedWritesMax: 2 } },
];

for (const variant of variants) {
  test(`simulation (${variant.name}): every history is serializable and replicas converge`, (t) => {
    let totalCommitted = 0;
    for (const seed of seeds(6)) {
      const result = simulate({ ...BASE, ...variant.options, seed });
      const verdict = checkHistory(result.history);
      const where = `seed ${seed} (${variant.name}): replay with SIM_SEED=${seed}`;
      t.log(`seed ${seed}: ${result.committed} committed, ${result.aborted} aborted, ${result.failed} gave up, ${result.messages} messages, ${result.readsFromMemory} reads of decided writes, ${result.readsParked} parked reads, ${result.readsAwaitingWriters} reads awaiting remote writers`);
      if (!verdict.ok) t.fail(`${where}\n${describeResult(verdict)}`);
      t.deepEqual(result.divergentKeys, [], `${where}: replicas disagree`);
      t.deepEqual(result.wrongFinalKeys, [], `${where}: final values are not the largest-timestamp writes`);
      t.true(result.committed > BASE.transactions / 2, `${where}: only ${result.committed} commits`);
      t.true(result.readsFromMemory > 0, `${where}: no read took a decided write; that path went untested`);
      t.true(result.readsParked > 0, `${where}: no read was parked; that path went untested`);
      t.true(result.readsAwaitingWriters > 0, `${where}: no read awaited a remote writer; that path went untested`);
      if (variant.options.membershipChurn) t.true(result.membershipChanges >= 4, `${where}: only ${result.membershipChanges} membership changes`);
      totalCommitted += result.committed;
    }
    t.true(totalCommitted > 0);
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
      const result = simulate({ ...BASE, keys: 4, transactions: 800, seed, faults: { [fault]: true }, ...options });
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
test('simulation with the Thomas write rule off at the databases (broken on purpose): replicas diverge or keep a stale final value', (t) => {
  for (let seed = 1; seed <= 30; seed++) {
    const result = simulate({ ...BASE, keys: 4, transactions: 800, seed, replicaFault: 'thomas' });
    if (result.divergentKeys.length > 0 || result.wrongFinalKeys.length > 0) {
      t.log(`seed ${seed}: divergent ${result.divergentKeys.join(', ') || 'none'}; wrong final ${result.wrongFinalKeys.join(', ') || 'none'}`);
      t.pass();
      return;
    }
  }
  t.fail('no seed in 1..30 exposed a database without the Thomas rule');
});
