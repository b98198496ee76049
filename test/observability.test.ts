// What a real local cluster (3 middlewares, 3 databases, `occdb startup`) shows of itself after a
// known workload: the counters of every process's /metrics agree with the transactions run;
// `observe` names the contended key and gives a transaction's timeline, found by the `traceId`
// its result carries; `occdb status` fills the database rows, counts rolled-back transactions
// apart, leads with a health line that a killed database turns to degraded, and `--watch`
// redraws with rates. A second, 1x1 cluster started with --no-metrics and --log-format json
// listens on no metrics port and writes JSON log lines. The 3x3 cluster serves the serial tests
// of this file in order; every process of both is killed afterwards, whatever the outcome.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { readClusterFile, type ClusterFile } from '../cluster/cluster-file.js';
import { OccdbClient } from '../client/client.js';
import { Connection } from '../protocol/connection.js';
import type { ObserveAnswer, TxnResult } from '../protocol/schemas.js';
import { clusterDir, isRunning, removeClusterDirs, runOccdb } from './helpers/startup-cluster.js';

test.after.always(removeClusterDirs);

const dir = clusterDir('observability');
let cluster: ClusterFile;
const clients: OccdbClient[] = [];
/** Every result the tests got, to check the counters against. */
const results: TxnResult[] = [];

test.before(async () => {
  const started = await runOccdb(['startup', '3', 'localhost', 'localhost', 'localhost', '3', 'localhost', 'localhost', 'localhost', '--dir', dir]);
  if (started.code !== 0) throw new Error(`startup failed (${started.code}): ${started.stderr}`);
  cluster = readClusterFile(path.join(dir, 'cluster.json'));
  for (const middleware of cluster.middlewares) clients.push(OccdbClient.connect(`MIDDLEWARE${middleware.id}`, { clusterFile: path.join(dir, 'cluster.json'), failover: false }));
});

test.after.always(() => {
  for (const client of clients) client.close();
});

async function run(middlewareIndex: number, text: string, end: 'commit' | 'rollback' = 'commit'): Promise<TxnResult> {
  const result = await clients[middlewareIndex]!.run(text, { end });
  results.push(result);
  return result;
}

/** `perClient` increments of `key` on every middleware at once: they conflict. */
function contend(key: string, perClient: number): Promise<TxnResult[]> {
  return Promise.all([0, 1, 2].flatMap((index) => Array.from({ length: perClient }, () => run(index, `ADD ${key} ${key} 1\n`))));
}

async function observe(middlewareIndex: number): Promise<ObserveAnswer> {
  const connection = new Connection({ host: '127.0.0.1', port: cluster.middlewares[middlewareIndex]!.clientPort });
  try {
    return await connection.request({ type: 'observe' });
  } finally {
    connection.close();
  }
}

/** The samples of `name` in a scrape of `port`, as label text (`{reason="vote-no",…}`) and value. */
async function scrape(port: number, name: string): Promise<Array<{ labels: string; value: number }>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (response.status !== 200) throw new Error(`GET /metrics on ${port} answered ${response.status}`);
  const samples: Array<{ labels: string; value: number }> = [];
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match && match[1] === name) samples.push({ labels: match[2] ?? '', value: Number(match[3]) });
  }
  return samples;
}

async function total(port: number, name: string): Promise<number> {
  return (await scrape(port, name)).reduce((sum, sample) => sum + sample.value, 0);
}

test.serial('/metrics of every process agrees with the transactions run: commits, rolled back apart, aborts, and each database\'s applies', async (t) => {
  t.is((await run(0, 'ASSIGN hot 0\nASSIGN cold 0\n')).outcome, 'committed');
  for (let index = 0; index < 3; index++) {
    t.is((await run(index, 'ASSIGN mine 1\n', 'rollback')).outcome, 'rolled_back', 'ended by ROLLBACK');
    t.is((await run(index, 'ADD x never_written 1\n')).outcome, 'rolled_back', 'a read of a missing entry');
    t.is((await run(index, 'PRINT cold\n')).outcome, 'committed', 'read-only');
  }
  const contended = await contend('hot', 8);
  t.true(contended.every((result) => result.outcome === 'committed'));
  t.true(contended.some((result) => result.retries > 0), 'some increments conflicted and ran again');

  for (const [index, middleware] of cluster.middlewares.entries()) {
    const mine = results.filter((result) => result.middlewareId === middleware.id);
    const port = middleware.metricsPort!;
    t.is(await total(port, 'occdb_transactions_committed_total'), mine.filter((result) => result.outcome === 'committed').length, `MIDDLEWARE${index + 1} commits`);
    t.is(await total(port, 'occdb_transactions_rolled_back_total'), 2, `MIDDLEWARE${index + 1} rolled back`);
    const retries = mine.reduce((sum, result) => sum + result.retries, 0);
    t.is(await total(port, 'occdb_aborts_total'), retries, `MIDDLEWARE${index + 1} aborts: one per retry`);
    t.is(await total(port, 'occdb_retries_total'), retries);
    t.true((await scrape(port, 'occdb_transaction_duration_seconds_count')).some((sample) => sample.labels.includes('phase="total"') && sample.value === mine.length));
    t.true(await total(port, 'occdb_nodejs_eventloop_lag_seconds') >= 0, 'the default process metrics are there');
  }
  const writingCommits = results.filter((result) => result.outcome === 'committed').length - 3;
  for (const database of cluster.databases) {
    let applies = -1;
    for (let attempt = 0; attempt < 50 && applies !== writingCommits; attempt++) {
      applies = await total(database.metricsPort!, 'occdb_database_applies_total');
      if (applies !== writingCommits) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.is(applies, writingCommits, `DATABASE${database.id} applied every committed writing transaction once`);
  }
});

test.serial('observe: the contended key is the hottest; a transaction found by its traceId has its read, a vote per other member, an APPLY acknowledgement per replica and the reply, in time order', async (t) => {
  const quiet = await run(0, 'ADD cold cold 1\n');
  t.is(quiet.outcome, 'committed');
  t.regex(quiet.traceId ?? '', /^M1-\d+$/);

  const hotKeys = (await Promise.all([0, 1, 2].map(observe))).flatMap((answer) => answer.hotKeys);
  t.true(hotKeys.length > 0);
  const top = hotKeys.reduce((best, entry) => (entry.aborts + entry.waits > best.aborts + best.waits ? entry : best));
  t.is(top.key, 'hot');
  t.true(top.aborts > 0 && top.aborts + top.waits >= results.filter((result) => result.retries > 0).length / 3, 'its conflicts are counted');
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
  t.true(phases.lastIndexOf('read') < phases.indexOf('vote') && phases.lastIndexOf('vote') < phases.indexOf('apply'), 'read, then votes, then APPLYs');
  t.is(observed.totalMs, times.at(-1)!);
});

test.serial('status: the health line, rolled-back apart, the database rows filled; --watch --count 2 gives two refreshes with rates; a killed database makes the cluster degraded', async (t) => {
  const status = await runOccdb(['status', '--dir', dir]);
  t.is(status.code, 0, status.stderr);
  const lines = status.stdout.split('\n');
  t.is(lines[0], 'cluster: Primary, 3/3 middlewares, 3/3 databases in sync, view 3');
  const commits = results.filter((result) => result.outcome === 'committed' && result.middlewareId === 1).length;
  t.regex(status.stdout, new RegExp(`^MIDDLEWARE1 .* up +\\d+s +\\d+ +${commits} +2 +\\d+ +0 +2,3 +occ$`, 'm'), 'commits, then 2 rolled back');
  const writingCommits = results.filter((result) => result.outcome === 'committed').length - 3;
  // applies, syncs (group writes: at most one per APPLY), live keys (hot, cold), pending
  const row = new RegExp(`^DATABASE2 .* up +\\d+s +${writingCommits} +(\\d+) +2 +0$`, 'm').exec(status.stdout);
  t.truthy(row, status.stdout);
  t.true(Number(row?.[1]) >= 1 && Number(row?.[1]) <= writingCommits, 'syncs');

  const watched = await runOccdb(['status', '--dir', dir, '--watch', '0.3', '--count', '2']);
  t.is(watched.code, 0, watched.stderr);
  t.is(watched.stdout.match(/^cluster: Primary/gm)?.length, 2, 'two refreshes');
  t.regex(watched.stdout, /refresh 1 of 2/);
  t.regex(watched.stdout, /^rates: from the next refresh on$/m);
  t.regex(watched.stdout, /^rates: \d+\.\d commits\/s, \d+\.\d aborts\/s, \d+\.\d applies\/s \(over 0\.\d s\)$/m);
  t.regex(watched.stdout, /COMMITS\/S +ABORTS\/S/);
  // Under load, the second refresh's rates are the commits and applies made between the two.
  let watchDone = false;
  const watching = runOccdb(['status', '--dir', dir, '--watch', '1', '--count', '2', '--json']).finally(() => {
    watchDone = true;
  });
  const loadUntilMs = Date.now() + 20_000;
  for (let loaded = 0; !watchDone && Date.now() < loadUntilMs && loaded < 5_000; loaded++) await run(loaded % 3, 'ADD cold cold 1\n');
  const documents = (await watching).stdout.trim().split('\n').map((line) => JSON.parse(line) as { refresh: number; health: { state: string }; rates: Record<string, { commitsPerSecond?: number; appliesPerSecond?: number }> | null });
  t.deepEqual(documents.map((document) => [document.refresh, document.health.state]), [[1, 'Primary'], [2, 'Primary']]);
  t.is(documents[0]!.rates, null, 'no rates from one sample');
  const rates = documents[1]!.rates!;
  t.true([1, 2, 3].some((id) => (rates[`MIDDLEWARE${id}`]?.commitsPerSecond ?? 0) > 0), JSON.stringify(rates));
  t.true((rates.DATABASE1?.appliesPerSecond ?? 0) > 0, JSON.stringify(rates));

  const database = cluster.databases[1]!;
  const pid = readClusterFile(path.join(dir, 'cluster.json')).databases[1]!.pid!;
  process.kill(pid, 'SIGKILL');
  for (let attempt = 0; attempt < 100 && (await isRunning(pid)); attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
  const degraded = await runOccdb(['status', '--dir', dir]);
  t.is(degraded.code, 1, 'a process is down');
  t.regex(degraded.stdout.split('\n')[0]!, new RegExp(`^cluster: degraded, DATABASE${database.id} down, 3/3 middlewares, 2/3 databases in sync, view \\d+$`));
});

/** The TCP ports `pid` listens on (Linux: its socket inodes matched against /proc/net/tcp and tcp6). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && inodes.has(fields[9]!)) ports.push(parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

test('--no-metrics records no metrics port and nothing listens for one; --log-format json makes every log line a JSON object with timestamp, process and level', async (t) => {
  const quietDir = clusterDir('no-metrics');
  const started = await runOccdb(['startup', '1', 'localhost', '1', 'localhost', '--dir', quietDir, '--no-metrics', '--log-format', 'json']);
  t.is(started.code, 0, started.stderr);
  const quiet = readClusterFile(path.join(quietDir, 'cluster.json'));
  const middleware = quiet.middlewares[0]!;
  const database = quiet.databases[0]!;
  t.is(middleware.metricsPort, undefined);
  t.is(database.metricsPort, undefined);
  t.deepEqual(listeningPorts(middleware.pid!), [middleware.clientPort, middleware.peerPort].sort((a, b) => a - b));
  t.deepEqual(listeningPorts(database.pid!), [database.port]);
  // The 3x3 cluster, with metrics, listens on one port more per process.
  const withMetrics = cluster.middlewares[0]!;
  t.deepEqual(listeningPorts(readClusterFile(path.join(dir, 'cluster.json')).middlewares[0]!.pid!), [withMetrics.clientPort, withMetrics.peerPort, withMetrics.metricsPort!].sort((a, b) => a - b));

  for (const [file, name] of [[path.join(middleware.dir, 'middleware.log'), 'MIDDLEWARE1'], [path.join(database.dir, 'database.log'), 'DATABASE1']] as const) {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
    t.true(lines.length > 2, file);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      t.is(entry.process, name);
      t.true(typeof entry.level === 'string' && typeof entry.message === 'string' && !Number.isNaN(Date.parse(String(entry.timestamp))), line);
    }
  }
});
