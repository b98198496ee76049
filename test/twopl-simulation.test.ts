// The seeded simulation of the pure 2PL core (test/simulation/twopl-simulator.ts): 3 to 5
// middlewares and 2 or 3 replicas over a fake network that delays, reorders and drops
// messages, under wait-die and under no-wait, with middlewares leaving and returning through
// views. Every history must be strictly serializable, the lock invariant must hold after every
// event (across homes and epochs), no lock may leak, and the replicas must converge
// on the largest-timestamp writes. Then the protocol, or the databases' Thomas rule, is broken
// on purpose, one rule at a time, and some seed must show it. A failing seed is printed and
// replays alone with SIM_SEED=<seed> npx ava dist/test/twopl-simulation.test.js.
import test from 'ava';
import { checkHistory, describeResult } from './history/checker.js';
import { simulateTwoPhaseLocking, type TwoPhaseLockingSimulationOptions, type TwoPhaseLockingSimulationResult } from './simulation/twopl-simulator.js';
import { seeds } from './simulation/seeds.js';
import type { TwoPhaseLockingFaults } from '../twopl/node.js';
import type { DeadlockPolicy } from '../twopl/lock-table.js';

const BASE: Omit<TwoPhaseLockingSimulationOptions, 'seed' | 'policy'> = {
  middlewares: 3,
  replicas: 2,
  clientsPerMiddleware: 3,
  keys: 16,
  transactions: 600,
  delayMsMax: 20,
  dropProbability: 0.01,
  lockWaitTimeoutMs: 500,
  requestTimeoutMs: 200,
  retryCountMax: 50,
  runMsMax: 5,
  rollbackProbability: 0.1,
};

const POLICIES: DeadlockPolicy[] = ['wait-die', 'no-wait'];

/** Every check the simulation makes, as one line each that failed (none: the run is correct). */
function failedChecks(result: TwoPhaseLockingSimulationResult): string[] {
  const failed: string[] = [];
  if (result.lockViolationCount > 0) failed.push(`lock invariant broken ${result.lockViolationCount} times, first: ${result.lockViolations[0]}`);
  if (result.leakedLocks.length > 0) failed.push(`lock leaked: ${result.leakedLocks[0]}`);
  const verdict = checkHistory(result.history, { realTime: true });
  if (!verdict.ok) failed.push(`history not strictly serializable: ${describeResult(verdict).split('\n').slice(0, 4).join(' / ')}`);
  if (result.divergentKeys.length > 0) failed.push(`replicas disagree on ${result.divergentKeys.join(', ')}`);
  if (result.wrongFinalKeys.length > 0) failed.push(`final values are not the largest-timestamp writes: ${result.wrongFinalKeys.slice(0, 3).join(', ')}`);
  if (result.leftovers.length > 0 && result.leakedLocks.length === 0) failed.push(`left over after the run: ${result.leftovers.join('; ')}`);
  return failed;
}

function summary(result: TwoPhaseLockingSimulationResult): string {
  const reasons = Object.entries(result.restartsByReason).map(([reason, count]) => `${reason} ${count}`).join(', ');
  return `${result.committed} committed, ${result.restarts} restarts (${reasons || 'none'}), ${result.rolledBack} rolled back, ${result.failedAttempts} failed reads, ${result.gaveUp} gave up, ${result.messages} messages, ${result.virtualMs} virtual ms`;
}

const variants: Array<{ name: string; options: Partial<TwoPhaseLockingSimulationOptions> }> = [
  { name: '3 middlewares, 2 replicas', options: {} },
  { name: '5 middlewares, 3 replicas, more loss', options: { middlewares: 5, replicas: 3, keys: 24, dropProbability: 0.03 } },
  { name: '3 middlewares, hot keys', options: { keys: 6, transactions: 400 } },
  { name: '4 middlewares, leaving and coming back in turn', options: { middlewares: 4, leaveAndReturn: true } },
];

for (const variant of variants) {
  for (const policy of POLICIES) {
    test(`2PL simulation, ${policy} (${variant.name}): strictly serializable, the lock invariant holds, no lock leaks, replicas converge`, (t) => {
      const restartReasons = new Set<string>();
      for (const seed of seeds(3)) {
        const options = { ...BASE, ...variant.options, policy, seed };
        const result = simulateTwoPhaseLocking(options);
        const where = `seed ${seed} (${policy}, ${variant.name}): replay with SIM_SEED=${seed}`;
        t.log(`seed ${seed}: ${summary(result)}`);
        t.deepEqual(failedChecks(result), [], where);
        t.true(result.committed > options.transactions * 0.6, `${where}: only ${result.committed} commits of ${options.transactions}`);
        if (options.leaveAndReturn) t.true(result.membershipChanges >= 4 && result.viewChanges === result.membershipChanges, `${where}: ${result.membershipChanges} leaves and returns, ${result.viewChanges} views installed after the first`);
        for (const reason of Object.keys(result.restartsByReason)) restartReasons.add(reason);
      }
      // Both ways a transaction restarts are exercised: a refusal, and a home that does not answer.
      t.true(restartReasons.has('die') && restartReasons.has('unavailable'), `restart reasons seen: ${[...restartReasons].join(', ')}`);
      // And with views: a home leaving, stopped, or in another epoch refuses; a view-stop restarts.
      if (variant.options.leaveAndReturn) t.true(restartReasons.has('leaving') && restartReasons.has('view-change'), `restart reasons seen: ${[...restartReasons].join(', ')}`);
    });
  }
}

test('2PL simulation: a seed replays exactly', (t) => {
  const run = () => simulateTwoPhaseLocking({ ...BASE, transactions: 200, policy: 'wait-die', seed: 7 });
  const first = run();
  const second = run();
  t.deepEqual(second.history, first.history);
  t.is(second.messages, first.messages);
});

// The checks must be able to fail: with one rule of the protocol broken on purpose, some seed
// in 1..30 must fail one of them, under each policy.
const faults: Array<{ fault: keyof TwoPhaseLockingFaults; why: string }> = [
  { fault: 'releaseBeforeApplied', why: 'the next holder reads a replica that has not applied yet' },
  { fault: 'readWithoutSharedLock', why: 'a read overlaps a writer holding the key' },
  { fault: 'readBeforeEveryGrant', why: 'a transaction runs with some of its locks not yet granted' },
  { fault: 'commitAtStartTs', why: 'a write is stamped below a version it read, and the Thomas rule drops it' },
  { fault: 'releaseOnlyGranted', why: 'a request still waiting is granted after its transaction gave up' },
];
for (const { fault, why } of faults) {
  test(`2PL simulation with ${fault} (broken on purpose: ${why}): a seed in 1..30 exposes it, under each policy`, (t) => {
    for (const policy of POLICIES) {
      let caught = false;
      for (let seed = 1; seed <= 30 && !caught; seed++) {
        const result = simulateTwoPhaseLocking({ ...BASE, transactions: 300, policy, seed, faults: { [fault]: true } });
        const failed = failedChecks(result);
        if (failed.length === 0) continue;
        caught = true;
        t.log(`${policy}, seed ${seed}:\n  ${failed.join('\n  ')}`);
      }
      if (!caught) t.fail(`no seed in 1..30 exposed ${fault} under ${policy}: the checks cannot see this bug`);
    }
    t.pass();
  });
}

// The database's Thomas rule, broken on every replica (test/simulation/replica.ts). Under
// strict 2PL a key's writers apply one after another: the next one is granted the lock only
// once every replica acknowledged the last one's APPLY. What the rule still guards against is
// an APPLY held up in the network past its timeout: it is re-sent, the re-sent copy is
// acknowledged, the next writer applies, and then the held-up copy lands. With the rule, that
// copy is dropped as older; without it, it overwrites the newer write at that replica. Slow
// messages make this happen, and the checks must then see replicas that disagree or keep a
// stale final value. The same seed with the rule in place passes every check, so the slow
// messages alone are not what fails.
test('2PL simulation with the Thomas write rule off at the databases (broken on purpose: an APPLY overtaken by its own re-send lands last): a seed in 1..30 shows replicas diverging or a stale final value, under each policy', (t) => {
  for (const policy of POLICIES) {
    let caught = false;
    for (let seed = 1; seed <= 30 && !caught; seed++) {
      const options: TwoPhaseLockingSimulationOptions = { ...BASE, transactions: 300, slowMessageProbability: 0.01, slowMessageDelayMsMax: 1000, policy, seed };
      const result = simulateTwoPhaseLocking({ ...options, replicaFault: 'thomas' });
      if (result.divergentKeys.length === 0 && result.wrongFinalKeys.length === 0) continue;
      caught = true;
      t.log(`${policy}, seed ${seed}: divergent ${result.divergentKeys.join(', ') || 'none'}; wrong final ${result.wrongFinalKeys.join(', ') || 'none'}`);
      t.deepEqual(failedChecks(simulateTwoPhaseLocking(options)), [], `${policy}, seed ${seed}: the run fails with the Thomas rule in place too`);
    }
    if (!caught) t.fail(`no seed in 1..30 exposed a database without the Thomas rule under ${policy}`);
  }
  t.pass();
});
