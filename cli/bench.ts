// `occdb bench`: the OCC-against-2PL benchmark (the same as `npm run bench`), on local
// clusters it starts or on a running cluster (--cluster, --dir).
import type { Command } from 'commander';
import { addBenchOptions } from '../bench/command-options.js';
import type { RawBenchOptions } from '../bench/options.js';

export function registerBenchCommand(program: Command): void {
  const command = program
    .command('bench')
    .description(
      'Benchmark the strategies (occ, 2pl, 2pl-nowait) with the bank and ycsb workloads on local clusters it starts ' +
      '(3 middlewares, 3 databases each), or on a running cluster (--cluster, --dir); writes results.json, results.md ' +
      'and charts to bench-results/<time>/ (--out).',
    );
  addBenchOptions(command)
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ occdb bench --quick',
      '  $ occdb bench --dir ./demo --workloads bank --clients 16 --duration-seconds 5',
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
