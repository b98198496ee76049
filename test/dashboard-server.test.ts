// The dashboard's server without a browser or a running cluster: the rates and percentiles of
// its charts (a restarted process counts from zero, a process that missed a poll adds nothing),
// the state it serves for processes that do not answer, and how it refuses what it cannot take:
// a request for a name other than loopback's, a POST body that is not JSON, not the right shape,
// too large, a middleware the cluster lacks, command lines that do not parse; and a middleware
// that does not answer is a result saying so.
import test from 'ava';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { History, HISTORY_POINTS_MAX, percentile, type CounterReading } from '../dashboard/history.js';
import { parseAppliesPending } from '../dashboard/metrics-scrape.js';
import { REQUEST_BODY_BYTES_MAX, startDashboard, type Dashboard } from '../dashboard/server.js';
import type { DashboardState } from '../dashboard/state.js';
import { writeTestCluster } from './helpers/processes.js';

const readings = (entries: Record<string, Partial<CounterReading>>): Map<string, CounterReading> =>
  new Map(Object.entries(entries).map(([name, reading]) => [name, { pid: 1, uptimeMs: 0, commits: 0, aborts: 0, ...reading }]));

test('commits/s and aborts/s: counter differences over the time between polls, summed over the middlewares', (t) => {
  const history = new History();
  history.add(10_000, readings({ M1: { uptimeMs: 1_000, commits: 100, aborts: 4 }, M2: { uptimeMs: 1_000, commits: 50 } }), null);
  t.deepEqual(history.snapshot().atSeconds, [], 'the first poll has nothing to count from');
  history.add(12_000, readings({ M1: { uptimeMs: 3_000, commits: 140, aborts: 10 }, M2: { uptimeMs: 3_000, commits: 70 } }), null);
  t.like(history.snapshot(), { atSeconds: [12], commitsPerSecond: [30], abortsPerSecond: [3], latencyMsP50: [null], latencyMsP99: [null] });
});

test('a restarted middleware counts from zero, and one that missed the poll before adds nothing', (t) => {
  const history = new History();
  history.add(0, readings({ M1: { pid: 1, uptimeMs: 50_000, commits: 1_000 }, M2: { uptimeMs: 9_000, commits: 500 } }), []);
  // M1 restarted (a new pid) and committed 7 since; M2 did not answer.
  history.add(1_000, readings({ M1: { pid: 2, uptimeMs: 500, commits: 7 } }), []);
  // M2 answers again: it is not counted until the poll after.
  history.add(2_000, readings({ M1: { pid: 2, uptimeMs: 1_500, commits: 9 }, M2: { uptimeMs: 11_000, commits: 900 } }), []);
  // M1's uptime went back with the same pid (the pid was reused): a new life too.
  history.add(3_000, readings({ M1: { pid: 2, uptimeMs: 100, commits: 1 }, M2: { uptimeMs: 12_000, commits: 910 } }), []);
  t.deepEqual(history.snapshot().commitsPerSecond, [7, 2, 11]);
});

test('latency percentiles by nearest rank; null where latencies are not known, and where none finished', (t) => {
  t.is(percentile([], 0.5), null);
  const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
  t.is(percentile(sorted, 0.5), 50);
  t.is(percentile(sorted, 0.99), 99);
  t.is(percentile([3], 0.99), 3);
  const history = new History();
  history.add(0, readings({}), []);
  history.add(1_000, readings({}), [9, 1, 5]);
  history.add(2_000, readings({}), []);
  history.add(3_000, readings({}), null);
  t.like(history.snapshot(), { latencyMsP50: [5, null, null], latencyMsP99: [9, null, null] });
});

test('the history keeps five minutes of points', (t) => {
  const history = new History();
  for (let second = 0; second <= HISTORY_POINTS_MAX + 10; second++) history.add(second * 1_000, readings({ M1: { commits: second } }), []);
  const series = history.snapshot();
  t.is(series.atSeconds.length, HISTORY_POINTS_MAX);
  t.is(series.atSeconds[0], 11);
  t.is(series.commitsPerSecond.length, HISTORY_POINTS_MAX);
});

test('the APPLYs a middleware holds per replica, read from its Prometheus metrics page', (t) => {
  const page = [
    '# HELP occdb_applies_pending APPLYs sent or queued to each database and not acknowledged yet.',
    '# TYPE occdb_applies_pending gauge',
    'occdb_applies_pending{database="DATABASE1",process="MIDDLEWARE2"} 0',
    'occdb_applies_pending{database="DATABASE3",process="MIDDLEWARE2"} 17',
    'occdb_applies_pending_other{database="DATABASE1"} 5',
    'occdb_transactions_in_flight{process="MIDDLEWARE2"} 4',
  ].join('\n');
  t.deepEqual([...parseAppliesPending(page)], [['DATABASE1', 0], ['DATABASE3', 17]]);
});

let dashboard: Dashboard | null = null;
let dir = '';

test.before(async () => {
  // A cluster file whose processes were never started: nothing answers on its ports.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-dashboard-server-'));
  const { file } = await writeTestCluster(dir, { middlewares: 2, databases: 1, tcpOnly: true });
  dashboard = await startDashboard({ clusterFile: file, host: '127.0.0.1', port: 0 });
});

test.after.always(async () => {
  await dashboard?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function url(route: string): string {
  if (dashboard === null) throw new Error('the dashboard did not start');
  return new URL(route, dashboard.url).href;
}

async function post(body: string, contentType = 'application/json'): Promise<{ status: number; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const response = await fetch(url('/api/run'), { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
}

test('the state of a cluster that does not answer: every process down, with why; no view; nothing to chart', async (t) => {
  const response = await fetch(url('/api/state'));
  t.is(response.status, 200);
  const state = (await response.json()) as DashboardState;
  t.deepEqual(state.processes.map((card) => [card.name, card.up]), [['MIDDLEWARE1', false], ['MIDDLEWARE2', false], ['DATABASE1', false]]);
  for (const card of state.processes) t.regex(card.problem!, /refused|did not answer/, card.name);
  t.is(state.view, null);
  t.deepEqual(state.replicas, [{ name: 'DATABASE1', up: false, applied: null, queued: null, waiting: null, place: null }]);
  t.is(state.replicasNote, 'queued APPLYs not counted for MIDDLEWARE1 (no metrics port); MIDDLEWARE2 (no metrics port)');
  t.regex(state.recent.note!, /^without MIDDLEWARE1 \(.+\); MIDDLEWARE2 \(.+\)$/);
});

test('the page, its script and style, and uPlot are served from the package; a timeline no middleware lists is null; anything else is a 404 in JSON', async (t) => {
  for (const [route, type] of [['/', 'text/html'], ['/dashboard.js', 'text/javascript'], ['/dashboard.css', 'text/css'], ['/uPlot.iife.min.js', 'text/javascript'], ['/uPlot.min.css', 'text/css']] as const) {
    const response = await fetch(url(route));
    t.is(response.status, 200, route);
    t.true(response.headers.get('content-type')!.startsWith(type), route);
    t.true((await response.text()).length > 100, route);
  }
  const missing = await fetch(url('/nothing'));
  t.is(missing.status, 404);
  t.deepEqual(await missing.json(), { error: { code: 'UNKNOWN_MESSAGE', message: 'nothing is served at /nothing' } });
  const wrongMethod = await fetch(url('/api/run'));
  t.is(wrongMethod.status, 405);
  // A transaction no middleware lists has no timeline (yet): an answer, not an error.
  const unknownTrace = await fetch(url('/api/timeline?trace=M1-1'));
  t.is(unknownTrace.status, 200);
  t.deepEqual(await unknownTrace.json(), { transaction: null });
});

test('bound to loopback, it answers only requests for a loopback name (no DNS rebinding)', async (t) => {
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.get(url('/api/state'), { headers: { host: 'attacker.example:8080' } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
  t.is(answer.status, 403);
  t.regex(answer.body, /answers only requests for 127\.0\.0\.1 or localhost, not for attacker\.example:8080/);
  t.is((await fetch(url('/api/state').replace('127.0.0.1', 'localhost'))).status, 200);
});

test('a POST body is JSON of the right shape, or refused naming the field at fault', async (t) => {
  t.like(await post('{"middleware": 1}', 'text/plain'), { status: 415, body: { error: { code: 'BAD_MESSAGE' } } });
  const notJson = await post('{middleware: 1');
  t.is(notJson.status, 400);
  t.regex(notJson.body.error!.message, /^the body is not JSON: /);
  const wrongShape = await post('{"middleware": "one", "commands": "", "extra": 1}');
  t.is(wrongShape.status, 400);
  t.is(wrongShape.body.error!.code, 'BAD_MESSAGE');
  t.regex(wrongShape.body.error!.message, /middleware: .*expected number/);
  t.regex(wrongShape.body.error!.message, /commands: commands is empty/);
  t.regex(wrongShape.body.error!.message, /extra/);
});

test('a POST body over the limit is refused unread, as is a middleware the cluster lacks and command lines that do not parse', async (t) => {
  const large = await post(JSON.stringify({ middleware: 1, commands: 'x'.repeat(REQUEST_BODY_BYTES_MAX) }));
  t.deepEqual(large, { status: 413, body: { error: { code: 'MESSAGE_TOO_LARGE', message: `the body is larger than ${REQUEST_BODY_BYTES_MAX} bytes` } } });
  const unknown = await post(JSON.stringify({ middleware: 7, commands: 'PRINT 1' }));
  t.is(unknown.status, 400);
  t.is(unknown.body.error!.code, 'USAGE');
  t.regex(unknown.body.error!.message, /MIDDLEWARE7/);
  const unparsed = await post(JSON.stringify({ middleware: 1, commands: 'PRINT 1\nADD A\n' }));
  t.is(unparsed.status, 400);
  t.is(unparsed.body.error!.code, 'BAD_COMMAND_FILE');
  t.regex(unparsed.body.error!.message, /^commands:2: /);
});

test('a transaction on a middleware that does not answer: an answer saying so, with nothing run', async (t) => {
  const answer = await post(JSON.stringify({ middleware: 2, commands: 'PRINT 1' }));
  t.is(answer.status, 200);
  t.like(answer.body, { middleware: 'MIDDLEWARE2', transactions: [], classic: '', error: { code: 'NODE_UNAVAILABLE' } });
});
