// `occdb bench`: the OCC-against-2PL benchmark (the same as `npm run bench`), on local
// clusters it starts or on a running cluster (--cluster, --dir); with --nemesis, the fault
// benchmark instead (the same as `npm run bench:nemesis`), which has options of its own.
import type { Command } from 'commander';
import { addBenchOptions } from '../bench/command-options.js';
import type { RawBenchOptions } from '../bench/options.js';

/**
 * The fault benchmark's arguments when `args` (the command line after `occdb`) asks for it
 * (`bench … --nemesis …`), else null. Its options are not the benchmark's (--clients takes one
 * count, --strategy one strategy, --targets and --hold are its own), so it is dispatched
 * before commander parses the benchmark's.
 */
export function nemesisArguments(args: readonly string[]): string[] | null {
  if (args[0] !== 'bench') return null;
  const rest = args.slice(1);
  return rest.some((arg) => arg === '--nemesis' || arg.startsWith('--nemesis=')) ? rest : null;
}

export function registerBenchCommand(program: Command): void {
  const command = program
    .command('bench')
    .description(
      'Benchmark the strategies (occ, 2pl, 2pl-nowait) with the bank and ycsb workloads on local clusters it starts ' +
      '(3 middlewares, 3 databases each), or on a running cluster (--cluster, --dir); writes results.json, results.md ' +
      'and charts to bench-results/<time>/ (--out).',
    );
  addBenchOptions(command)
    // Never parsed here (nemesisArguments dispatches it first): listed for the help.
    .option('--nemesis <kinds>', 'run the fault benchmark instead: the bank workload on a local 3x3 cluster while each fault (kill, pause, partition) hits each target in turn; its own options: occdb bench --nemesis kill --help')
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ occdb bench --quick',
      '  $ occdb bench --dir ./demo --workloads bank --clients 16 --duration-seconds 5',
      '  $ occdb bench --nemesis kill,pause,partition --targets MIDDLEWARE2,DATABASE2',
      '',
      'Exit codes:',
      '  0  every run passed its checks',
      '  1  a run FAILED (its checks, or the cluster)',
      '  2  the command line is wrong',
      '  130  interrupted (results so far are written)',
    ].join('\n'))
    .action(async (options: RawBenchOptions) => {
      const { runBench } = await import('../bench/command.js');
      const words = process.argv.slice(process.argv.indexOf('bench') + 1).join(' ');
      process.exitCode = await runBench(options, `occdb bench${words ? ` ${words}` : ''}`);
    });
}
