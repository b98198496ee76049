// `occdb database <n>`: runs DATABASE<n> of the cluster file in the foreground.
import { Option, type Command } from 'commander';
import { parseNodeName } from '../cluster/names.js';
import { OccdbError } from '../errors/catalogue.js';
import type { LogFormat, LogLevel } from '../runtime/log.js';
import type { DatabaseFaults } from '../database/server.js';
import { clusterOption, dirOption, logFormatOption, logLevelOption, resolveClusterFile } from './options.js';

/** How long a stopping database may take before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

export function registerDatabaseCommand(program: Command): void {
  program
    .command('database')
    .description('run DATABASE<n> of the cluster in the foreground (a LevelDB replica; logs to stderr and <its dir>/database.log)')
    .argument('<n>', 'the database: DATABASE<n> or n')
    .addOption(dirOption())
    .addOption(clusterOption())
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .addOption(new Option('--fault <name...>', 'break the protocol on purpose, for tests of the checkers: skip-fencing').hideHelp())
    .action(async (name: string, options: { dir: string; cluster?: string; logLevel: LogLevel; logFormat: LogFormat; fault?: string[] }) => {
      const id = parseNodeName(name, 'DATABASE');
      if (id === null || id < 1) throw new OccdbError('USAGE', `'${name}' is not a database name (DATABASE<n> or n)`);
      const faults = parseFaults(options.fault ?? []);
      const { runDatabase } = await import('../database/server.js');
      const database = await runDatabase({ id, clusterFile: resolveClusterFile(options), logLevel: options.logLevel, logFormat: options.logFormat, console: true, faults });
      let stopping = false;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        // If closing hangs (a stuck disk), exit anyway rather than linger.
        setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
        database.close().then(
          () => { process.exitCode = 0; },
          (error: unknown) => {
            process.stderr.write(`occdb: DATABASE${id} did not stop cleanly: ${(error as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}

function parseFaults(names: string[]): DatabaseFaults {
  const faults: DatabaseFaults = {};
  for (const name of names) {
    if (name === 'skip-fencing') faults.skipFencing = true;
    else throw new OccdbError('USAGE', `unknown fault '${name}' (known: skip-fencing)`);
  }
  return faults;
}
