// npm run bench [-- options]: the OCC-against-2PL benchmark (bench/command.ts), as `occdb
// bench` runs it too. Exits 0 when every run passed its checks, 1 when any run FAILED, 2 on a
// usage mistake, 130 when interrupted.
import { Command, CommanderError } from 'commander';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../errors/exit-codes.js';
import { OccdbError } from '../errors/catalogue.js';
import { runBench } from './command.js';
import { addBenchOptions } from './command-options.js';
import type { RawBenchOptions } from './options.js';

function commandLine(): string {
  const words = process.argv.slice(2).join(' ');
  return process.env.npm_lifecycle_event === 'bench' ? `npm run bench${words ? ` -- ${words}` : ''}` : `node dist/bench/main.js${words ? ` ${words}` : ''}`;
}

const program = addBenchOptions(
  new Command()
    .name('npm run bench --')
    .description('Compare optimistic concurrency (occ) with strict two-phase locking (2pl, 2pl-nowait) on a local cluster, or on a running one.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride(),
);

try {
  program.parse(process.argv);
  process.exitCode = await runBench(program.opts<RawBenchOptions>(), commandLine());
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
