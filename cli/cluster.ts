// occdb startup / status / verify / stop / start: running a local cluster.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { STRATEGIES, type Strategy, readClusterFile } from '../protocol/cluster.js';
import type { LogLevel } from '../protocol/log.js';
import { parseStartupArguments } from '../startup/arguments.js';
import { consoleOutput } from '../startup/output.js';
import { startNode } from '../startup/start.js';
import { runStartup } from '../startup/startup.js';
import { runStatus } from '../startup/status.js';
import { stopCluster } from '../startup/stop.js';
import { runVerify } from '../startup/verify.js';
import { EXIT_FAILED } from './exit-codes.js';
import { clusterOption, dirOption, logLevelOption, resolveClusterFile } from './options.js';

interface ClusterOptions {
  dir: string;
  cluster?: string;
}

export function registerClusterCommands(program: Command): void {
  program
    .command('startup')
    .description('start a cluster: N middlewares on the hosts given, then M databases (the classic STARTUP form)')
    .argument('<layout...>', 'N host1 ... hostN M host1 ... hostM (N middlewares, M databases; local hosts: localhost, 127.x.x.x)')
    .addOption(dirOption())
    .addOption(new Option('--strategy <strategy>', 'concurrency control of the middlewares').choices([...STRATEGIES]).default('occ'))
    .addOption(logLevelOption())
    .addOption(new Option('--base-port <port>', 'use consecutive ports from this one (default: any free ports)').argParser(parsePort))
    .addHelpText('after', '\nExample:\n  occdb startup 3 localhost localhost localhost 3 localhost localhost localhost --dir ./demo')
    .action(async (layoutWords: string[], options: ClusterOptions & { strategy: Strategy; logLevel: LogLevel; basePort?: number }) => {
      const layout = parseStartupArguments(layoutWords);
      const healthy = await runStartup(
        { layout, dir: options.dir, strategy: options.strategy, logLevel: options.logLevel, basePort: options.basePort },
        consoleOutput,
      );
      if (!healthy) process.exitCode = EXIT_FAILED;
    });

  program
    .command('status')
    .description('show every process of the cluster: up or down, clock, commits, aborts, members (exit 1 if any is down)')
    .addOption(dirOption())
    .addOption(clusterOption())
    .option('--json', 'print JSON')
    .action(async (options: ClusterOptions & { json?: boolean }) => {
      const allUp = await runStatus(readClusterFile(resolveClusterFile(options)), options.json === true, consoleOutput);
      if (!allUp) process.exitCode = EXIT_FAILED;
    });

  program
    .command('verify')
    .description('compare the database replicas key by key (exit 1 if they differ, 3 if one does not answer)')
    .addOption(dirOption())
    .addOption(clusterOption())
    .option('--json', 'print JSON')
    .action(async (options: ClusterOptions & { json?: boolean }) => {
      const agree = await runVerify(readClusterFile(resolveClusterFile(options)), options.json === true, consoleOutput);
      if (!agree) process.exitCode = EXIT_FAILED;
    });

  program
    .command('stop')
    .description('stop the cluster (middlewares first, then databases), or only the process named')
    .argument('[name]', 'one process to stop, e.g. MIDDLEWARE2')
    .addOption(dirOption())
    .addOption(clusterOption())
    .action(async (name: string | undefined, options: ClusterOptions) => {
      const allStopped = await stopCluster(resolveClusterFile(options), consoleOutput, name);
      if (!allStopped) process.exitCode = EXIT_FAILED;
    });

  program
    .command('start')
    .description('start one stopped process of the cluster on its recorded ports and directory')
    .argument('<name>', 'the process, e.g. MIDDLEWARE2 or DATABASE1')
    .addOption(dirOption())
    .addOption(clusterOption())
    .addOption(logLevelOption())
    .action(async (name: string, options: ClusterOptions & { logLevel: LogLevel }) => {
      const started = await startNode(resolveClusterFile(options), name, options.logLevel, consoleOutput);
      if (!started) process.exitCode = EXIT_FAILED;
    });
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new InvalidArgumentError('a port is an integer from 1 to 65535.');
  }
  return Number(text);
}
