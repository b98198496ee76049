// The occdb command line. Each subcommand lives in its own file and registers itself here;
// its action loads what it runs with import(), so that a command (and --help) loads only
// commander and the option definitions, never the modules of the other commands.
import { Command, CommanderError } from 'commander';
import { OccdbError } from '../errors/catalogue.js';
import { nemesisArguments, registerBenchCommand } from './bench.js';
import { registerClientCommand } from './client.js';
import { registerClusterCommands } from './cluster.js';
import { registerDashboardCommand } from './dashboard.js';
import { registerDatabaseCommand } from './database.js';
import { registerMiddlewareCommand } from './middleware.js';
import { registerScenarioCommand } from './scenario.js';
import { registerUserCommands } from './user.js';
import { registerShellCommand } from './shell.js';
import { EXIT_CLUSTER_UNREACHABLE, EXIT_USAGE } from '../errors/exit-codes.js';

const program = new Command();
program
  .name('occdb')
  .description('A replicated transactional key-value database: middlewares with distributed optimistic concurrency control over LevelDB replicas.')
  .version(process.env.npm_package_version ?? '0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerClusterCommands(program);
registerClientCommand(program);
registerShellCommand(program);
registerDatabaseCommand(program);
registerMiddlewareCommand(program);
registerScenarioCommand(program);
registerUserCommands(program);
registerBenchCommand(program);
registerDashboardCommand(program);

/** Commands that run a server: a broken pipe there is not a reader that stopped early. */
const SERVER_COMMANDS: readonly string[] = ['middleware', 'database', 'dashboard'];
if (!SERVER_COMMANDS.includes(process.argv[2] ?? '')) {
  // A reader that stops early (occdb status | head) closes the pipe: the command ends quietly,
  // as other command-line tools do, instead of with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
}

// Promises, not a top-level await: the command line also runs as one CommonJS bundle
// (scripts/bundle-cli.mjs), which cannot hold a top-level await.
const nemesis = nemesisArguments(process.argv.slice(2));
if (nemesis) {
  // A failure here ends the process with its stack, as an unhandled rejection does.
  void runNemesis(nemesis);
} else {
  program.parseAsync(process.argv).catch((error: unknown) => {
    process.exitCode = exitCodeFor(error);
  });
}

async function runNemesis(args: string[]): Promise<void> {
  const { runNemesisCommand } = await import('../bench/nemesis-command.js');
  process.exitCode = await runNemesisCommand(args, 'occdb bench');
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander already printed the message (or the help / version text).
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof OccdbError) {
    process.stderr.write(`occdb: ${error.message}\n`);
    return error.code === 'CLUSTER_UNREACHABLE' || error.code === 'NODE_UNAVAILABLE' || error.code === 'TIMEOUT' ? EXIT_CLUSTER_UNREACHABLE : EXIT_USAGE;
  }
  // Anything else is a bug in occdb, not a user mistake: show everything.
  process.stderr.write(`occdb: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
  return 70;
}
