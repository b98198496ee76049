// The benchmark's `--sweep report` preset that report 2 runs: it lists its configurations
// one by one (bank and uniform ycsb against clients, ycsb against skew at 16 clients) instead
// of a cross product, refuses the options that would reshape them, and still gets the four
// charts the report shows; --quick and the defaults are untouched.
import test from 'ava';
import { resolveBenchOptions } from '../bench/options.js';
import { configurations, planRuns } from '../bench/plan.js';
import { buildCharts } from '../bench/report.js';
import { type RunRecord, failedRecord } from '../bench/runner.js';
import { summarizeRuns } from '../bench/summary.js';
import { OccdbError } from '../errors/catalogue.js';

test('--sweep report: 12 listed configurations, 3 strategies, 3 repetitions of 4 s after 1 s warm-up', (t) => {
  const options = resolveBenchOptions({ sweep: 'report' });
  t.deepEqual(configurations(options).map((configuration) => configuration.key), [
    'bank/c1', 'bank/c4', 'bank/c16', 'bank/c64',
    'ycsb/t0/c1', 'ycsb/t0/c4', 'ycsb/t0/c16', 'ycsb/t0/c64',
    'ycsb/t0.6/c16', 'ycsb/t0.8/c16', 'ycsb/t0.9/c16', 'ycsb/t0.99/c16',
  ]);
  t.deepEqual(options.strategies, ['occ', '2pl', '2pl-nowait']);
  t.is(options.repetitions, 3);
  t.is(options.durationSeconds, 4);
  t.is(options.warmupSeconds, 1);
  t.is(options.sweep, 'report');
  t.is(planRuns(options).length, 12 * 3 * 3);
});

test('--sweep report keeps the knobs that do not reshape it, and refuses those that do', (t) => {
  const options = resolveBenchOptions({ sweep: 'report', strategies: 'occ,2pl', repetitions: '5' });
  t.deepEqual(options.strategies, ['occ', '2pl']);
  t.is(planRuns(options).length, 12 * 2 * 5);
  for (const [raw, pattern] of [
    [{ sweep: 'report', clients: '4' }, /--sweep report lists its own configurations: it cannot be combined with --clients/],
    [{ sweep: 'report', quick: true, theta: '0.5' }, /cannot be combined with --quick, --theta/],
    [{ sweep: 'nightly' }, /--sweep: 'nightly' is not one of report/],
  ] as const) {
    const error = t.throws(() => resolveBenchOptions(raw), { instanceOf: OccdbError });
    t.regex(error!.message, pattern);
  }
});

test('without --sweep, the defaults and --quick are the cross products they were', (t) => {
  t.is(resolveBenchOptions({}).points, undefined);
  t.is(planRuns(resolveBenchOptions({})).length, (4 + 4 * 5) * 3 * 3);
  t.deepEqual(configurations(resolveBenchOptions({ quick: true })).map((configuration) => configuration.key), ['bank/c16', 'ycsb/t0/c16', 'ycsb/t0.9/c16']);
});

test('the report sweep draws throughput and restarts against theta at 16 clients and throughput against clients, nothing with one point', (t) => {
  const options = resolveBenchOptions({ sweep: 'report' });
  const records: RunRecord[] = planRuns(options).map((run) => {
    const base = failedRecord(run, 'error', 'placeholder');
    delete base.failure;
    return { ...base, status: 'ok', throughputPerSecond: 100 * run.configuration.clients, restartsPerCommit: 0.1, latencyMs: { p50: 1, p95: 2, p99: 3, mean: 1, max: 4 } };
  });
  const { charts, skipped } = buildCharts(summarizeRuns(records, configurations(options), options.strategies), options);
  t.deepEqual(charts.map((chart) => chart.fileName).sort(), [
    'bank-throughput-vs-clients.svg',
    'ycsb-restarts-vs-theta-c16.svg',
    'ycsb-theta0-throughput-vs-clients.svg',
    'ycsb-throughput-vs-theta-c16.svg',
  ]);
  t.deepEqual(skipped.map((reason) => reason.split(':')[0]), ['ycsb against theta at 1 clients', 'ycsb against theta at 4 clients', 'ycsb against theta at 64 clients']);
});
