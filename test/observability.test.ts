// What a real local cluster (3 middlewares, 3 databases, `occdb startup`) shows of itself:
// `observe` names the contended key and gives each transaction's timeline, found by the
// `traceId` its result carries. One cluster serves the tests of this file, in order; every
// process of it is killed afterwards, whatever the outcome.
import test from 'ava';
import path from 'node:path';
import { readClusterFile, type ClusterFile } from '../cluster/cluster-file.js';
import { OccdbClient } from '../client/client.js';
import { Connection } from '../protocol/connection.js';
import type { ObserveAnswer, TxnResult } from '../protocol/schemas.js';
import { clusterDir, removeClusterDirs, runOccdb } from './helpers/startup-cluster.js';

test.after.always(removeClusterDirs);

const dir = clusterDir('observability');
let cluster: ClusterFile;
const clients: OccdbClient[] = [];

test.before(async () => {
  const result = await runOccdb(['startup', '3', 'localhost', 'localhost', 'localhost', '3', 'localhost', 'localhost', 'localhost', '--dir', dir]);
  if (result.code !== 0) throw new Error(`startup failed (${result.code}): ${result.stderr}`);
  cluster = readClusterFile(path.join(dir, 'cluster.json'));
  for (const middleware of cluster.middlewares) clients.push(OccdbClient.connect(`MIDDLEWARE${middleware.id}`, { clusterFile: path.join(dir, 'cluster.json'), failover: false }));
});

test.after.always(() => {
  for (const client of clients) client.close();
});

async function observe(middlewareIndex: number): Promise<ObserveAnswer> {
  const middleware = cluster.middlewares[middlewareIndex]!;
  const connection = new Connection({ host: '127.0.0.1', port: middleware.clientPort });
  try {
    return await connection.request({ type: 'observe' });
  } finally {
    connection.close();
  }
}

/** `perClient` increments of `key` on every middleware at once: they conflict. */
async function contend(key: string, perClient: number): Promise<TxnResult[]> {
  return Promise.all(clients.flatMap((client) => Array.from({ length: perClient }, () => client.run(`ADD ${key} ${key} 1\n`))));
}

test.serial('observe: the contended key is the hottest; a transaction found by its traceId has its read, a vote per other member, an APPLY acknowledgement per replica and the reply, in time order', async (t) => {
  t.is((await clients[0]!.run('ASSIGN hot 0\nASSIGN cold 0\n')).outcome, 'committed');
  const results = await contend('hot', 12);
  t.true(results.every((result) => result.outcome === 'committed'), 'every increment committed');
  t.true(results.some((result) => result.retries > 0), 'some increments conflicted and ran again');

  const quiet = await clients[0]!.run('ADD cold cold 1\n');
  t.is(quiet.outcome, 'committed');
  t.regex(quiet.traceId ?? '', /^M1-\d+$/);

  const hotKeys = (await Promise.all([0, 1, 2].map(observe))).flatMap((answer) => answer.hotKeys);
  t.true(hotKeys.length > 0);
  const top = hotKeys.reduce((best, entry) => (entry.aborts + entry.waits > best.aborts + best.waits ? entry : best));
  t.is(top.key, 'hot');
  t.false(hotKeys.some((entry) => entry.key === 'cold'), 'an uncontended key is not hot');

  const { recent } = await observe(0);
  t.true(recent.length <= 50);
  t.is(recent[0]!.traceId, quiet.traceId!, 'newest first');
  const observed = recent.find((entry) => entry.traceId === quiet.traceId)!;
  t.is(observed.outcome, 'committed');
  t.false(Number.isNaN(Date.parse(observed.startedAt)));
  const phases = observed.timeline.map((event) => event.phase);
  t.is(phases[0], 'read');
  t.is(phases.at(-1), 'reply');
  const voters = observed.timeline.filter((event) => event.phase === 'vote' && event.node).map((event) => event.node).sort();
  t.deepEqual(voters, ['MIDDLEWARE2', 'MIDDLEWARE3'], 'one vote per other member');
  const appliers = observed.timeline.filter((event) => event.phase === 'apply' && event.node).map((event) => event.node).sort();
  t.deepEqual(appliers, ['DATABASE1', 'DATABASE2', 'DATABASE3'], 'one acknowledgement per replica');
  const times = observed.timeline.map((event) => event.atMs);
  t.deepEqual(times, [...times].sort((a, b) => a - b), 'in time order');
  const lastRead = phases.lastIndexOf('read');
  t.true(lastRead < phases.indexOf('vote') && phases.lastIndexOf('vote') < phases.indexOf('apply'), 'read, then votes, then APPLYs');
  t.is(observed.totalMs, times.at(-1)!);
});
