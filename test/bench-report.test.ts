// From runs to what is written: CPU% from /proc stat lines, per-group medians that leave
// failed runs out, markdown cells as median [min-max], a loud FAILED section, and the charts
// the sweep has data for.
import test from 'ava';
import { cpuPercentByRole, parseProcStatTicks } from '../bench/measure.js';
import { resolveBenchOptions } from '../bench/options.js';
import { configurations, planRuns } from '../bench/plan.js';
import { buildCharts, formatSummary, markdownTable, renderMarkdown } from '../bench/report.js';
import { type RunRecord, failedRecord } from '../bench/runner.js';
import { summarizeRuns } from '../bench/summary.js';

test('utime + stime are read past the command name, even one with spaces and parentheses', (t) => {
  const fields = 'S 1 1 1 0 -1 4194304 101 0 0 0 250 50 0 0 20 0 1 0 153242';
  t.is(parseProcStatTicks(`27705 (node) ${fields}`), 300);
  t.is(parseProcStatTicks(`27705 (my (odd) name) ${fields}`), 300);
  t.is(parseProcStatTicks('garbage'), null);
});

test('CPU% is CPU seconds over wall seconds, summed per role; a missing process gives no figure', (t) => {
  const pids = { middleware: [1, 2], database: [3], client: [4] };
  const before = new Map([[1, 100], [2, 100], [3, 0], [4, 10]]);
  const after = new Map([[1, 150], [2, 200], [3, 200]]);
  const percent = cpuPercentByRole(pids, before, after, 2_000, { perSecond: 100, assumed: false });
  // 150 ticks over 2 s at 100 ticks/s = 75%; 200 ticks = 100%.
  t.deepEqual(percent, { middleware: 75, database: 100, client: null });
});

function okRecord(run: ReturnType<typeof planRuns>[number], throughput: number): RunRecord {
  const base = failedRecord(run, 'error', 'placeholder');
  delete base.failure;
  return {
    ...base,
    status: 'ok',
    windowMs: 2_500,
    committed: throughput * 2.5,
    throughputPerSecond: throughput,
    restartsPerCommit: 0.5,
    latencyMs: { p50: 10, p95: 20, p99: 30, mean: 12, max: 40 },
    cpuPercent: { middleware: 60, database: 70, client: 8 },
  };
}

const options = resolveBenchOptions({ quick: true });
const runs = planRuns(options);
const records: RunRecord[] = runs.map((run) => {
  if (run.strategy === '2pl') return failedRecord(run, 'unavailable', 'the 2pl cluster did not start: MIDDLEWARE1 | exited');
  if (run.strategy === 'occ' && run.configuration.key === 'bank/c16' && run.repetition === 1) {
    return failedRecord(run, 'invariant', 'the bank total is 99990, not 100000: money was created or lost');
  }
  return okRecord(run, 1000 + run.repetition * 100 + (run.strategy === 'occ' ? 0 : 50));
});
const configurationList = configurations(options);
const groups = summarizeRuns(records, configurationList, options.strategies);

test('a group summary takes the median and spread over passed runs only', (t) => {
  const occBank = groups.find((group) => group.strategy === 'occ' && group.configuration.key === 'bank/c16')!;
  t.is(occBank.okRuns, 2);
  t.is(occBank.failedRuns.length, 1);
  t.deepEqual(occBank.metrics.throughputPerSecond, { median: 1100, min: 1000, max: 1200, count: 2 });
  const twoPl = groups.find((group) => group.strategy === '2pl' && group.configuration.key === 'bank/c16')!;
  t.is(twoPl.okRuns, 0);
  t.is(twoPl.metrics.throughputPerSecond, null);
});

test('a cell is the median with [min-max], or n/a', (t) => {
  t.is(formatSummary({ median: 1100.4, min: 1000, max: 1200.6, count: 3 }, 0), '1100 [1000-1201]');
  t.is(formatSummary({ median: 0.456, min: 0.456, max: 0.456, count: 1 }, 2), '0.46');
  t.is(formatSummary(null, 1), 'n/a');
});

test('markdown tables escape the pipe character in cells', (t) => {
  t.is(markdownTable(['a', 'b'], [['x | y', 'z']]), '| a | b |\n| --- | --- |\n| x \\| y | z |');
});

test('the report lists every FAILED run loudly and marks a strategy with no passed run', (t) => {
  const { charts, skipped } = buildCharts(groups, options);
  const markdown = renderMarkdown({
    options, commandLine: 'npm run bench -- --quick', records, groups, configurations: configurationList, charts, skippedCharts: skipped,
    wallSeconds: 150, interrupted: false, plannedRunCount: runs.length,
    machine: { cpuModel: 'test cpu', cores: 2, memoryMiB: 1024, platform: 'linux x64', kernel: '6', nodeVersion: 'v20', date: '2026-01-01T00:00:00Z', clockTicks: { perSecond: 100, assumed: false } },
  });
  t.regex(markdown, /## FAILED RUNS: 10 of 27/);
  t.regex(markdown, /money was created or lost/);
  t.regex(markdown, /\| 2pl \| 0\/3 \| FAILED: the 2pl cluster did not start/);
  t.regex(markdown, /\| occ \| 2\/3 \| 1100 \[1000-1200\] \|/);
  t.regex(markdown, /!\[Throughput against key skew \(16 clients\)\]\(ycsb-throughput-vs-theta-c16\.svg\)/);
  t.regex(markdown, /Not drawn: bank against clients: needs at least two --clients values/);
});

test('the quick sweep draws throughput and restarts against theta; the 2pl line is marked as having no run', (t) => {
  const { charts } = buildCharts(groups, options);
  t.deepEqual(charts.map((chart) => chart.fileName), ['ycsb-throughput-vs-theta-c16.svg', 'ycsb-restarts-vs-theta-c16.svg']);
  t.true(charts[0]!.svg.includes('2pl (no successful run)'));
});

test('a sweep over client counts also draws throughput against clients for bank and uniform ycsb', (t) => {
  const wide = resolveBenchOptions({ clients: '1,4,16', theta: '0,0.9' });
  const wideRecords = planRuns(wide).map((run) => okRecord(run, 100 * run.configuration.clients));
  const { charts } = buildCharts(summarizeRuns(wideRecords, configurations(wide), wide.strategies), wide);
  t.deepEqual(charts.map((chart) => chart.fileName).sort(), [
    'bank-throughput-vs-clients.svg',
    'ycsb-restarts-vs-theta-c1.svg', 'ycsb-restarts-vs-theta-c16.svg', 'ycsb-restarts-vs-theta-c4.svg',
    'ycsb-theta0-throughput-vs-clients.svg',
    'ycsb-throughput-vs-theta-c1.svg', 'ycsb-throughput-vs-theta-c16.svg', 'ycsb-throughput-vs-theta-c4.svg',
  ]);
});
