// The transactional conformance suite. Every strategy runs the same tests, as abstract-level's
// suite runs against every store, on two kinds of cluster: real processes over loopback (3
// middlewares, 3 databases; e2e-<strategy>.test.ts) and one process with in-memory databases
// and a seeded in-memory network (in-process-<strategy>.test.ts). A few tests need real
// processes (the occdb client, QUIT and restart, bytes on a socket) and run only there.
import type { TestFn } from 'ava';
import type { Strategy } from '../../cluster/cluster-file.js';
import type { Status, TxnResult } from '../../protocol/schemas.js';
import { killProcess, spawnOccdb, waitForExit, capturedOutput } from '../helpers/processes.js';
import { TestCluster, printed } from '../helpers/cluster.js';
import { homeOf } from '../../twopl/home.js';
import { OccdbClient } from '../../client/client.js';
import { readSecret } from '../../cluster/secret.js';
import { RawClient } from '../helpers/raw-client.js';

/** What the suite needs of a cluster, whatever runs it. */
export interface SuiteCluster {
  readonly kind: 'processes' | 'in-process';
  readonly middlewareIds: readonly number[];
  readonly databaseIds: readonly number[];
  /** Runs command text as a file on MIDDLEWARE<id>; one result per block. */
  run(middlewareId: number, text: string): Promise<TxnResult[]>;
  status(middlewareId: number): Promise<Status>;
  /** Every entry of one replica, tombstones included. */
  scan(databaseId: number): Promise<Map<string, string>>;
  /** Keys on which the replicas disagree (empty when all agree). */
  divergentKeys(): Promise<string[]>;
  stop(): Promise<void>;
}

/** The tests every cluster runs. `start` makes the cluster (once, before them). */
export function transactionalSuite(test: TestFn, strategy: Strategy, start: () => Promise<SuiteCluster>): void {
let cluster: SuiteCluster;

test.before(async () => {
  cluster = await start();
});

test.after.always(async () => {
  await cluster?.stop();
});

test.serial('a failing transaction leaves nothing behind on any replica', async (t) => {
  const [result] = await cluster.run(1, 'ASSIGN left_x 5\nASSIGN left_y 6\nPRINT left_x\nPRINT left_missing\nASSIGN left_z 7\n');
  t.is(result!.outcome, 'rolled_back');
  t.deepEqual(result!.results, [
    { line: 3, kind: 'print', value: '5' },
    { line: 4, kind: 'error', code: 'ENTRY_NONEXISTENT', message: 'nonexistent: arg1 (left_missing)' },
  ]);
  for (const databaseId of cluster.databaseIds) {
    const entries = await cluster.scan(databaseId);
    t.false(['left_x', 'left_y', 'left_z'].some((key) => entries.has(key)), `DATABASE${databaseId} holds a write of the failed transaction`);
  }
  const [after] = await cluster.run(2, 'PRINT left_x\n');
  t.is(after!.outcome, 'rolled_back', 'left_x must not exist');
});

test.serial('N clients on different middlewares each add 1 to one counter: the counter ends at exactly N', async (t) => {
  await cluster.run(1, 'ASSIGN counter 0\n');
  const clients = 24;
  const results = await Promise.all(Array.from({ length: clients }, (_, index) => cluster.run((index % 3) + 1, 'ADD counter counter 1\n')));
  t.true(results.every(([result]) => result!.outcome === 'committed'), JSON.stringify(results.filter(([r]) => r!.outcome !== 'committed')));
  const retries = results.reduce((sum, [result]) => sum + result!.retries, 0);
  t.log(`${clients} increments, ${retries} retries in all`);
  const [final] = await cluster.run(3, 'PRINT counter\n');
  t.deepEqual(printed(final!), [String(clients)]);
});

test.serial('bank: concurrent transfers across all middlewares keep the total, and the replicas agree', async (t) => {
  const accounts = 10;
  const balance = 1000;
  await cluster.run(1, Array.from({ length: accounts }, (_, index) => `ASSIGN acct${index} ${balance}`).join('\n'));
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const clients = 12;
  const transfersPerClient = 15;
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    for (let index = 0; index < transfersPerClient; index++) {
      const from = Math.floor(random() * accounts);
      const to = (from + 1 + Math.floor(random() * (accounts - 1))) % accounts;
      const amount = 1 + Math.floor(random() * 10);
      const [result] = await cluster.run((client % 3) + 1, `ADD acct${from} acct${from} -${amount}\nADD acct${to} acct${to} ${amount}\n`);
      if (result!.outcome !== 'committed') t.fail(`transfer failed: ${JSON.stringify(result)}`);
    }
  }));
  const [sum] = await cluster.run(2, Array.from({ length: accounts }, (_, index) => `PRINT acct${index}`).join('\n'));
  const total = printed(sum!).reduce((acc, value) => acc + Number(value), 0);
  t.is(total, accounts * balance);
  t.deepEqual(await cluster.divergentKeys(), []);
});

test.serial('a reader never sees half of a slow writer\'s transaction (SLEEP between its writes)', async (t) => {
  await cluster.run(1, 'ASSIGN pair_a 0\nASSIGN pair_b 0\n');
  const writes = 4;
  let writerDone = false;
  const writer = (async () => {
    for (let index = 0; index < writes; index++) {
      const [result] = await cluster.run(1, 'ADD pair_a pair_a 1\nSLEEP 0.3\nADD pair_b pair_b 1\n');
      t.is(result!.outcome, 'committed');
    }
    writerDone = true;
  })();
  const seen: string[] = [];
  const readers = [2, 3].map(async (middleware) => {
    for (let reads = 0; !writerDone && reads < 2000; reads++) {
      const [result] = await cluster.run(middleware, 'PRINT pair_a\nPRINT pair_b\n');
      const [a, b] = printed(result!);
      seen.push(`${a}/${b}`);
      if (a !== b) t.fail(`a reader saw pair_a=${a} but pair_b=${b}`);
    }
  });
  await Promise.all([writer, ...readers]);
  t.true(seen.length > 0);
  t.log(`${seen.length} reads, distinct states seen: ${[...new Set(seen)].join(' ')}`);
  const [final] = await cluster.run(2, 'PRINT pair_a\nPRINT pair_b\n');
  t.deepEqual(printed(final!), [String(writes), String(writes)]);
});

test.serial('two clients taking two entries in opposite order both finish (no deadlock hangs)', async (t) => {
  await cluster.run(1, 'ASSIGN dl_a 0\nASSIGN dl_b 0\n');
  const [first, second] = await Promise.all([
    cluster.run(1, 'ADD dl_a dl_a 1\nSLEEP 0.3\nADD dl_b dl_b 1\n'),
    cluster.run(2, 'ADD dl_b dl_b 1\nSLEEP 0.3\nADD dl_a dl_a 1\n'),
  ]);
  t.is(first![0]!.outcome, 'committed');
  t.is(second![0]!.outcome, 'committed');
  t.log(`restarts: ${first![0]!.retries} and ${second![0]!.retries}`);
  const [final] = await cluster.run(3, 'PRINT dl_a\nPRINT dl_b\n');
  t.deepEqual(printed(final!), ['2', '2']);
});

test.serial('status reports the strategy of every middleware', async (t) => {
  for (const middlewareId of cluster.middlewareIds) t.is((await cluster.status(middlewareId)).strategy, strategy);
});
}

/** The tests that need real processes: run after transactionalSuite on the same TestCluster. */
export function processSuite(test: TestFn, strategy: Strategy, clusterOf: () => TestCluster): void {
test.serial('the classic example through the occdb client: A = 10, B = A + 10 prints 10 and 20', async (t) => {
  const cluster = clusterOf();
  const child = spawnOccdb(['client', 'MIDDLEWARE2', 'test-scenarios/basic.op', '--cluster', cluster.file]);
  try {
    const exit = await waitForExit(child, 60_000);
    t.is(exit?.code, 0, capturedOutput(child).stderr);
    t.is(capturedOutput(child).stdout, '10\n20\n');
  } finally {
    await killProcess(child, 'SIGKILL');
  }
});

test.serial('after MIDDLEWARE3 QUITs the other two still commit; restarted, it takes part again', async (t) => {
  const cluster = clusterOf();
  // Under 2PL, lock homes are computed over the installed view's members: once the view
  // without MIDDLEWARE3 is installed, a key it homed is homed by one of the other two (whose
  // lock tables started empty with that view), so it commits as every other key does.
  const ids = cluster.cluster.middlewares.map((m) => m.id);
  const counterKey = ['membership', ...Array.from({ length: 50 }, (_, index) => `membership${index}`)].find((key) => homeOf(key, ids) !== 3)!;
  const awayKey = Array.from({ length: 50 }, (_, index) => `homed${index}`).find((key) => homeOf(key, ids) === 3)!;

  const [quit] = await cluster.run(3, 'ASSIGN before_quit 1\nQUIT\n');
  t.is(quit!.outcome, 'committed');
  t.true(quit!.quit);
  const exit = await waitForExit(cluster.middlewareProcesses.get(3)!, 30_000);
  t.is(exit?.code, 0, 'MIDDLEWARE3 exits cleanly after QUIT');
  t.deepEqual((await cluster.status(1)).members, [2]);

  await cluster.run(1, `ASSIGN ${counterKey} 0\n`);
  const whileAway = await Promise.all([1, 2, 1, 2].map((middleware) => cluster.run(middleware, `ADD ${counterKey} ${counterKey} 1\n`)));
  t.true(whileAway.every(([result]) => result!.outcome === 'committed'));
  const [away] = await cluster.run(1, `ASSIGN ${awayKey} 1\n`);
  t.is(away!.outcome, 'committed', 'a key MIDDLEWARE3 homed is homed by a remaining member');

  await cluster.startMiddleware(3);
  t.deepEqual((await cluster.status(1)).members, [2, 3]);
  t.deepEqual((await cluster.status(3)).members, [1, 2]);
  const afterReturn = await Promise.all([1, 2, 3, 3].map((middleware) => cluster.run(middleware, `ADD ${counterKey} ${counterKey} 1\n`)));
  t.true(afterReturn.every(([result]) => result!.outcome === 'committed'));
  const [homedAgain] = await cluster.run(2, `ASSIGN ${awayKey} 2\n`);
  t.is(homedAgain!.outcome, 'committed', 'the returned middleware homes its keys again (homes over the view with its new life)');
  const [final] = await cluster.run(3, `PRINT ${counterKey}\n`);
  t.deepEqual(printed(final!), ['8']);
  // A view without MIDDLEWARE3's life, then one with its new life.
  const installed = [...cluster.middlewareLog(1).matchAll(/installed view \d+: members (.*)/g)].map((match) => match[1]!.replace(/ \([^)]*\)/g, ''));
  t.true(installed.includes('MIDDLEWARE1, MIDDLEWARE2'), installed.join('\n'));
  t.is(installed.at(-1), 'MIDDLEWARE1, MIDDLEWARE2, MIDDLEWARE3');
  t.deepEqual(await cluster.divergentKeys(), []);
});

test.serial('a malformed message to a middleware gets an error reply and crashes nothing; before a login, any message closes the connection', async (t) => {
  const cluster = clusterOf();
  const self = cluster.cluster.middlewares[0]!;
  for (const port of [self.clientPort, self.peerPort]) {
    const endpoint = { host: '127.0.0.1', port };
    const stranger = await RawClient.connect(endpoint);
    try {
      stranger.send('{"id":1,"type":"txn.run","commands":[{"line":1,"op":"QUIT"}],"end":"commit"}\n');
      t.like(await stranger.next(), { id: 1, ok: false, error: { code: 'UNAUTHENTICATED' } });
      t.true(await stranger.waitClosed(), 'closed before anything ran');
    } finally {
      stranger.destroy();
    }
    const client = await RawClient.loggedIn(endpoint, readSecret(cluster.file));
    try {
      client.send('not json\n{"id":1,"type":"no.such"}\n{"id":2,"type":"txn.run","commands":[{"op":"ASSIGN"}],"end":"commit"}\n');
      const codes = [];
      for (let index = 0; index < 3; index += 1) codes.push(((await client.next()) as { error?: { code: string } } | null)?.error?.code);
      t.deepEqual(codes, ['BAD_MESSAGE', 'UNKNOWN_MESSAGE', port === self.peerPort ? 'UNKNOWN_MESSAGE' : 'BAD_MESSAGE']);
    } finally {
      client.destroy();
    }
  }
  t.is((await cluster.status(1)).role, 'middleware', 'still answering');
});

test.serial('the client library: many transactions in flight over one connection, by name through the cluster file', async (t) => {
  const cluster = clusterOf();
  const client = OccdbClient.connect('MIDDLEWARE2', { clusterFile: cluster.file });
  try {
    t.is((await client.run('ASSIGN lib_counter 0\n')).outcome, 'committed');
    const results = await Promise.all(Array.from({ length: 20 }, () => client.run('ADD lib_counter lib_counter 1\n')));
    t.true(results.every((result) => result.outcome === 'committed'));
    const parsed = await client.run([{ line: 1, op: 'PRINT', source: 'lib_counter' }]);
    t.deepEqual(printed(parsed), ['20']);
    const file = await client.runFile('BEGIN\nPRINT lib_counter\nCOMMIT\nBEGIN\nPRINT lib_missing\nCOMMIT\n');
    t.deepEqual(file.map((result) => result.outcome), ['committed', 'rolled_back']);
    t.is((await client.status()).strategy, strategy);
  } finally {
    client.close();
  }
});
}
