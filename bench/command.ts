// The OCC-against-2PL benchmark as a command, for `npm run bench` (bench/main.ts) and
// `occdb bench` (cli/bench.ts): starts one local cluster per strategy, or uses a running
// one, runs the planned sweep, and writes results.json, results.md and SVG charts.
// Returns 0 when every run passed its checks, 1 when any run FAILED, 130 when interrupted;
// a usage mistake is thrown as an OccdbError('USAGE').
import fs from 'node:fs';
import path from 'node:path';
import { readClusterFile } from '../cluster/cluster-file.js';
import { EXIT_FAILED, EXIT_OK } from '../errors/exit-codes.js';
import { clockTicks, machineInfo } from './measure.js';
import { type RawBenchOptions, resolveBenchOptions, runningClusterFile } from './options.js';
import { configurations, planRuns } from './plan.js';
import { ProgressDisplay, formatClock } from './progress.js';
import { buildCharts, renderMarkdown } from './report.js';
import { summarizeRuns } from './summary.js';
import { runSweep } from './sweep.js';

const EXIT_INTERRUPTED = 130;
/** Per run, on top of warm-up and window: data re-creation, drain, read-back and replica check. */
const RUN_OVERHEAD_MS_ESTIMATE = 1_500;
const CHART_FILE_PATTERN = /^(bank|ycsb)-.*\.svg$/;

function plural(count: number, noun: string, nounPlural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nounPlural}`;
}

/** Runs the benchmark with the options as commander parsed them; `commandLine` is recorded in the results. */
export async function runBench(raw: RawBenchOptions, commandLine: string): Promise<number> {
  // A running cluster's file is read first: its strategy decides what may be asked of it.
  const runningFile = runningClusterFile(raw);
  const running = runningFile === undefined ? null : readClusterFile(runningFile);
  const options = resolveBenchOptions(raw, new Date(), running?.strategy);
  if (running !== null) {
    // What the results record of the cluster is what it is, not the local defaults.
    options.middlewares = running.middlewares.length;
    options.databases = running.databases.length;
    options.scheduling = running.scheduling;
    options.tcpOnly = running.middlewares.every((entry) => entry.clientSocket === undefined);
  }
  const runs = planRuns(options);
  const configurationList = configurations(options);
  const ticks = clockTicks();
  const machine = machineInfo(ticks);
  const estimatePerRunMs = (options.warmupSeconds + options.durationSeconds) * 1000 + RUN_OVERHEAD_MS_ESTIMATE;
  process.stderr.write(`occdb bench: ${plural(runs.length, 'run')} (${plural(configurationList.length, 'configuration')} x ${plural(options.strategies.length, 'strategy', 'strategies')} x ${options.repetitions} repetitions), about ${formatClock(estimatePerRunMs * runs.length)}; results to ${options.out}\n`);
  if (ticks.assumed) process.stderr.write(`getconf CLK_TCK could not be run: assuming ${ticks.perSecond} clock ticks per second for CPU%\n`);

  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!abort.signal.aborted) process.stderr.write(`\n${signal}: ending the current run and stopping the clusters (results so far will be written)\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const startedMs = Date.now();
  const progress = new ProgressDisplay(process.stderr, runs.length, options.repetitions, estimatePerRunMs);
  let sweep;
  try {
    sweep = await runSweep(runs, options, ticks, abort.signal, progress);
  } finally {
    progress.finish();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const wallSeconds = (Date.now() - startedMs) / 1000;

  const groups = summarizeRuns(sweep.records, configurationList, options.strategies);
  const { charts, skipped } = buildCharts(groups, options);
  const markdown = renderMarkdown({
    options, commandLine, machine, records: sweep.records, groups, configurations: configurationList,
    charts, skippedCharts: skipped, wallSeconds, interrupted: sweep.interrupted, plannedRunCount: runs.length,
  });
  fs.mkdirSync(options.out, { recursive: true });
  // Charts of an earlier sweep with other knobs would sit next to these and mislead.
  for (const name of fs.readdirSync(options.out)) if (CHART_FILE_PATTERN.test(name)) fs.rmSync(path.join(options.out, name));
  const json = {
    version: 1,
    commandLine,
    options,
    machine,
    wallSeconds,
    interrupted: sweep.interrupted,
    plannedRunCount: runs.length,
    runs: sweep.records,
    summaries: groups.map(({ failedRuns, ...group }) => ({ ...group, failedRunIndexes: failedRuns.map((record) => record.index) })),
  };
  fs.writeFileSync(path.join(options.out, 'results.json'), JSON.stringify(json, null, 2) + '\n');
  fs.writeFileSync(path.join(options.out, 'results.md'), markdown);
  for (const chart of charts) fs.writeFileSync(path.join(options.out, chart.fileName), chart.svg);

  const failed = sweep.records.filter((record) => record.status === 'failed');
  process.stdout.write(`occdb bench: ${sweep.records.length} runs in ${formatClock(wallSeconds * 1000)}; wrote results.md, results.json and ${charts.length} charts to ${options.out}\n`);
  for (const problem of sweep.stopProblems) process.stderr.write(`occdb bench: ${problem}\n`);
  if (failed.length > 0) {
    process.stderr.write(`occdb bench: ${failed.length} of ${sweep.records.length} runs FAILED and are left out of the figures:\n`);
    for (const record of failed) process.stderr.write(`  run ${record.index + 1} ${record.strategy} ${record.configurationKey} repetition ${record.repetition + 1}: ${record.failure?.kind}: ${record.failure?.message.split('\n')[0]}\n`);
  }
  if (sweep.interrupted) return EXIT_INTERRUPTED;
  return failed.length > 0 || sweep.stopProblems.length > 0 ? EXIT_FAILED : EXIT_OK;
}
