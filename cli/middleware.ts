// `occdb middleware <n>`: run one middleware in the foreground.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { OccdbError } from '../errors/catalogue.js';
import { parseNodeName } from '../cluster/names.js';
import type { LogFormat, LogLevel } from '../runtime/log.js';
import { FAULT_NAMES, type MiddlewareFaults } from '../middleware/faults.js';
import { clusterOption, dirOption, logFormatOption, logLevelOption, resolveClusterFile } from './options.js';

export function registerMiddlewareCommand(program: Command): void {
  program
    .command('middleware')
    .description('run MIDDLEWARE<n> of a cluster in the foreground (startup runs these for you)')
    .argument('<n>', 'which middleware: a number or MIDDLEWARE<n>')
    .addOption(dirOption())
    .addOption(clusterOption())
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .addOption(new Option('--quiet', 'log only to the log file, not to stderr'))
    .addOption(new Option('--retry-count-max <n>', 'how many times a transaction is re-run after conflicts before it fails').argParser(parseCount))
    .addOption(new Option('--fault <name...>', 'break the protocol on purpose, for tests of the checkers: skip-voting-rule, skip-finished-writes, skip-version-check').hideHelp())
    .addHelpText('after', '\nExample:\n  occdb middleware 2 --dir ./demo')
    .action(async (name: string, options: { dir: string; cluster?: string; logLevel: LogLevel; logFormat: LogFormat; quiet?: boolean; fault?: string[]; retryCountMax?: number }) => {
      const id = parseNodeName(name, 'MIDDLEWARE');
      if (id === null) throw new OccdbError('USAGE', `'${name}' is not a middleware name (expected a number or MIDDLEWARE<n>)`);
      const faults = parseFaults(options.fault ?? []);
      const { runMiddleware } = await import('../middleware/server.js');
      const middleware = await runMiddleware({ id, clusterFile: resolveClusterFile(options), logLevel: options.logLevel, logFormat: options.logFormat, console: !options.quiet, faults, ...(options.retryCountMax !== undefined ? { limits: { retryCountMax: options.retryCountMax } } : {}) });
      const stop = (signal: string) => void middleware.shutdown(signal);
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      await middleware.finished;
      process.exit(0);
    });
}

function parseFaults(names: string[]): MiddlewareFaults {
  const faults: MiddlewareFaults = {};
  for (const name of names) {
    const fault = FAULT_NAMES[name];
    if (!fault) throw new OccdbError('USAGE', `unknown fault '${name}' (known: ${Object.keys(FAULT_NAMES).join(', ')})`);
    faults[fault] = true;
  }
  return faults;
}

function parseCount(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value > 1_000_000) throw new InvalidArgumentError('expected a whole number from 0 to 1000000');
  return value;
}
