// The benchmark's command-line options, shared by `npm run bench` (bench/main.ts) and
// `occdb bench` (cli/bench.ts). Light on purpose: the occdb command line loads this file to
// define its options, and the benchmark itself (bench/command.ts) only when it runs.
import type { Command } from 'commander';
import { STRATEGIES } from '../cluster/names.js';
import { BENCH_DEFAULTS, LOCAL_CLUSTER_OPTIONS, QUICK_OVERRIDES, SWEEP_NAMES, SWEEP_PRESETS } from './options.js';
import { WORKLOAD_KINDS } from './workloads.js';

/** Adds every option of the benchmark to `command`. */
export function addBenchOptions(command: Command): Command {
  const list = (values: readonly (number | string)[]): string => values.join(',');
  return command
    .option('--quick', `a small sweep (clients ${list(QUICK_OVERRIDES.clients!)}, theta ${list(QUICK_OVERRIDES.thetas!)}, ${QUICK_OVERRIDES.durationSeconds} s runs) that takes about 2 minutes`)
    .option('--sweep <name>', `a preset sweep that lists its own configurations: ${SWEEP_NAMES.map((name) => `${name} (${SWEEP_PRESETS[name].summary})`).join('; ')}`)
    .option('--workloads <list>', `workloads among ${WORKLOAD_KINDS.join(', ')} (default ${list(BENCH_DEFAULTS.workloads)})`)
    .option('--strategies <list>', `strategies among ${STRATEGIES.join(', ')} (default ${list(BENCH_DEFAULTS.strategies)}; with --cluster or --dir, the cluster's own)`)
    .option('--clients <list>', `closed-loop client counts (default ${list(BENCH_DEFAULTS.clients)})`)
    .option('--theta <list>', `ycsb Zipfian skews, each in [0, 1) (default ${list(BENCH_DEFAULTS.thetas)})`)
    .option('--ops <count>', `ycsb operations per transaction (default ${BENCH_DEFAULTS.operationsPerTransaction})`)
    .option('--read-fraction <fraction>', `ycsb probability that an operation is a read (default ${BENCH_DEFAULTS.readFraction})`)
    .option('--middlewares <count>', `middlewares per local cluster (default ${BENCH_DEFAULTS.middlewares})`)
    .option('--tcp-only', 'processes of the local clusters talk over TCP loopback (by default processes on one machine use Unix domain sockets)')
    .option('--scheduling <policy>', 'CPU scheduling policy of the local clusters\' processes: batch or normal (default batch; see occdb startup --help)')
    .option('--databases <count>', `databases per local cluster (default ${BENCH_DEFAULTS.databases})`)
    .option('--duration-seconds <seconds>', `measured window per run (default ${BENCH_DEFAULTS.durationSeconds})`)
    .option('--warmup-seconds <seconds>', `warm-up before the window (default ${BENCH_DEFAULTS.warmupSeconds})`)
    .option('--repetitions <count>', `runs of every configuration and strategy, at least 3 (default ${BENCH_DEFAULTS.repetitions})`)
    .option('--seed <number>', `seed of the clients' random choices (default ${BENCH_DEFAULTS.seed})`)
    .option('--out <dir>', `where results go (default bench-results/<time>, a new folder per run)`)
    .option('--cluster <file>', 'measure the running cluster of this cluster file instead of starting local clusters')
    .option('--dir <dir>', 'measure the running cluster of this directory (<dir>/cluster.json) instead of starting local clusters')
    .addHelpText('after', [
      '',
      'A running cluster (--cluster or --dir):',
      '  Every run goes to its middlewares, round robin, and the cluster is left',
      '  running. Only its own strategy is measured; the options of local',
      `  clusters (${LOCAL_CLUSTER_OPTIONS.join(', ')}) are refused.`,
      "  Each run first writes the workload's entries (bank: acct0..acct99; ycsb:",
      '  key0..key9999), overwriting entries of those names, and reads them back',
      "  at the end. CPU% counts only the cluster's processes on this machine.",
    ].join('\n'));
}
