// npm run bench [-- options]: the OCC-against-2PL benchmark. Starts one local cluster per
// strategy, runs the planned sweep, and writes results.json, results.md and SVG charts.
// Exits 0 when every run passed its checks, 1 when any run FAILED, 2 on a usage mistake,
// 130 when interrupted.
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../errors/exit-codes.js';
import { STRATEGIES } from '../cluster/cluster-file.js';
import { OccdbError } from '../errors/catalogue.js';
import { clockTicks, machineInfo } from './measure.js';
import { BENCH_DEFAULTS, QUICK_OVERRIDES, SWEEP_NAMES, SWEEP_PRESETS, type RawBenchOptions, resolveBenchOptions } from './options.js';
import { configurations, planRuns } from './plan.js';
import { ProgressDisplay, formatClock } from './progress.js';
import { buildCharts, renderMarkdown } from './report.js';
import { summarizeRuns } from './summary.js';
import { runSweep } from './sweep.js';
import { WORKLOAD_KINDS } from './workloads.js';

const EXIT_INTERRUPTED = 130;
/** Per run, on top of warm-up and window: data re-creation, drain, read-back and replica check. */
const RUN_OVERHEAD_MS_ESTIMATE = 1_500;
const CHART_FILE_PATTERN = /^(bank|ycsb)-.*\.svg$/;

function buildProgram(): Command {
  const list = (values: readonly (number | string)[]): string => values.join(',');
  return new Command()
    .name('npm run bench --')
    .description('Compare optimistic concurrency (occ) with strict two-phase locking (2pl, 2pl-nowait) on a local cluster.')
    .option('--quick', `a small sweep (clients ${list(QUICK_OVERRIDES.clients!)}, theta ${list(QUICK_OVERRIDES.thetas!)}, ${QUICK_OVERRIDES.durationSeconds} s runs) that takes about 2 minutes`)
    .option('--sweep <name>', `a preset sweep that lists its own configurations: ${SWEEP_NAMES.map((name) => `${name} (${SWEEP_PRESETS[name].summary})`).join('; ')}`)
    .option('--workloads <list>', `workloads among ${WORKLOAD_KINDS.join(', ')} (default ${list(BENCH_DEFAULTS.workloads)})`)
    .option('--strategies <list>', `strategies among ${STRATEGIES.join(', ')} (default ${list(BENCH_DEFAULTS.strategies)})`)
    .option('--clients <list>', `closed-loop client counts (default ${list(BENCH_DEFAULTS.clients)})`)
    .option('--theta <list>', `ycsb Zipfian skews, each in [0, 1) (default ${list(BENCH_DEFAULTS.thetas)})`)
    .option('--ops <count>', `ycsb operations per transaction (default ${BENCH_DEFAULTS.operationsPerTransaction})`)
    .option('--read-fraction <fraction>', `ycsb probability that an operation is a read (default ${BENCH_DEFAULTS.readFraction})`)
    .option('--middlewares <count>', `middlewares per cluster (default ${BENCH_DEFAULTS.middlewares})`)
    .option('--tcp-only', 'processes talk over TCP loopback (by default processes on one machine use Unix domain sockets)')
    .option('--scheduling <policy>', 'CPU scheduling policy of the clusters\' processes: batch or normal (default batch; see occdb startup --help)')
    .option('--databases <count>', `databases per cluster (default ${BENCH_DEFAULTS.databases})`)
    .option('--duration-seconds <seconds>', `measured window per run (default ${BENCH_DEFAULTS.durationSeconds})`)
    .option('--warmup-seconds <seconds>', `warm-up before the window (default ${BENCH_DEFAULTS.warmupSeconds})`)
    .option('--repetitions <count>', `runs of every configuration and strategy, at least 3 (default ${BENCH_DEFAULTS.repetitions})`)
    .option('--seed <number>', `seed of the clients' random choices (default ${BENCH_DEFAULTS.seed})`)
    .option('--out <dir>', `where results go (default ${BENCH_DEFAULTS.out})`)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
}

function plural(count: number, noun: string, nounPlural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nounPlural}`;
}

function commandLine(): string {
  const words = process.argv.slice(2).join(' ');
  return process.env.npm_lifecycle_event === 'bench' ? `npm run bench${words ? ` -- ${words}` : ''}` : `node dist/bench/main.js${words ? ` ${words}` : ''}`;
}

async function main(): Promise<number> {
  const program = buildProgram();
  program.parse(process.argv);
  const options = resolveBenchOptions(program.opts<RawBenchOptions>());
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
    options, commandLine: commandLine(), machine, records: sweep.records, groups, configurations: configurationList,
    charts, skippedCharts: skipped, wallSeconds, interrupted: sweep.interrupted, plannedRunCount: runs.length,
  });
  fs.mkdirSync(options.out, { recursive: true });
  // Charts of an earlier sweep with other knobs would sit next to these and mislead.
  for (const name of fs.readdirSync(options.out)) if (CHART_FILE_PATTERN.test(name)) fs.rmSync(path.join(options.out, name));
  const json = {
    version: 1,
    commandLine: commandLine(),
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

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof CommanderError) {
    // commander already printed the message (or the help text).
    process.exitCode = error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  } else if (error instanceof OccdbError) {
    process.stderr.write(`occdb bench: ${error.message}\n`);
    process.exitCode = error.code === 'USAGE' ? EXIT_USAGE : EXIT_FAILED;
  } else {
    process.stderr.write(`occdb bench: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 70;
  }
}
