// The history checker on real processes: a concurrent random workload across 3 middlewares
// must produce a serializable (and real-time ordered) history under every strategy; the same
// workload against optimistic middlewares that skip the voting rule and the version check on
// purpose must not.
import test from 'ava';
import { STRATEGIES } from '../cluster/cluster-file.js';
import type { Connection } from '../protocol/connection.js';
import { TestCluster } from './helpers/cluster.js';
import { checkHistory, describeResult, type History, type TxnRecord } from './history/checker.js';
import { planTransaction, recordOf } from './history/workload.js';
import { Random } from './simulation/random.js';

const KEYS = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'];

async function runWorkload(cluster: TestCluster, seed: number, options: { clients: number; transactionsPerClient: number; sleepSeconds: number }): Promise<History> {
  const random = new Random(seed);
  let nextValue = 1;
  const uniqueValue = () => nextValue++;
  const initial: Record<string, number> = Object.fromEntries(KEYS.map((key) => [key, uniqueValue()]));
  const [setup] = await cluster.run(1, KEYS.map((key) => `ASSIGN ${key} ${initial[key]}`).join('\n'));
  if (setup!.outcome !== 'committed') throw new Error(`setup failed: ${JSON.stringify(setup)}`);
  const records: TxnRecord[] = [];
  await Promise.all(Array.from({ length: options.clients }, async (_, client) => {
    const middleware = (client % 3) + 1;
    const connection: Connection = cluster.connect(middleware);
    for (let index = 0; index < options.transactionsPerClient; index++) {
      const planned = planTransaction(random, KEYS, `c${client}.${index}`, uniqueValue, options.sleepSeconds);
      const startMs = performance.now();
      let result;
      try {
        [result] = await cluster.run(middleware, planned.text, connection);
      } catch {
        result = undefined; // outcome unknown to the client
      }
      records.push(recordOf(planned, result, startMs, performance.now()));
    }
  }));
  return { transactions: records, initial };
}

for (const strategy of STRATEGIES) {
  test(`${strategy}: a concurrent random workload on 3 middlewares gives a strictly serializable history`, async (t) => {
    const cluster = await TestCluster.start({ middlewares: 3, databases: 3, strategy });
    try {
      const seed = (Date.now() % 100_000) + 1;
      t.log(`workload seed ${seed}`);
      const history = await runWorkload(cluster, seed, { clients: 9, transactionsPerClient: 30, sleepSeconds: 0 });
      const verdict = checkHistory(history, { realTime: true });
      t.log(`${verdict.stats.committed} of ${verdict.stats.transactions} committed, ${verdict.stats.edges} dependency edges`);
      t.true(verdict.ok, describeResult(verdict));
      t.true(verdict.stats.committed > 200);
      t.deepEqual(await cluster.divergentKeys(), []);
    } finally {
      await cluster.stop();
    }
  });
}

test('broken on purpose (no voting rule, no version check): the checker finds the anomaly', async (t) => {
  const cluster = await TestCluster.start({
    middlewares: 3,
    databases: 3,
    middlewareArguments: () => ['--fault', 'skip-voting-rule', 'skip-version-check'],
  });
  try {
    t.regex(cluster.middlewareLog(1), /FAULTS INJECTED ON PURPOSE/);
    let verdict;
    for (let round = 1; round <= 3; round++) {
      const history = await runWorkload(cluster, round, { clients: 9, transactionsPerClient: 10, sleepSeconds: 0.02 });
      verdict = checkHistory(history, { realTime: true });
      if (!verdict.ok) break;
    }
    t.false(verdict!.ok, 'a middleware without validation produced a history the checker accepted');
    t.log(describeResult(verdict!).split('\n').slice(0, 8).join('\n'));
  } finally {
    await cluster.stop();
  }
});
