// Options shared by several subcommands. This file is loaded for every command, even --help,
// so it imports nothing heavy: commander, node:path and the cluster file's names.
import path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { LogLevel } from '../runtime/log.js';
import { LOG_FORMATS } from '../runtime/log-format.js';
import { clusterFilePath } from '../cluster/names.js';

export const DIR_DEFAULT = './.occdb';

/**
 * The log levels runtime/log.ts knows, spelled out here because importing them would load
 * winston for every command. The two checks below fail to compile if the lists drift apart.
 */
const LOG_LEVEL_CHOICES = ['error', 'warn', 'info', 'debug'] as const satisfies readonly LogLevel[];
type Exhaustive<Listed, All> = [All] extends [Listed] ? true : never;
const logLevelsExhaustive: Exhaustive<(typeof LOG_LEVEL_CHOICES)[number], LogLevel> = true;
void logLevelsExhaustive;

export function dirOption(): Option {
  return new Option('--dir <dir>', 'the cluster directory (holds cluster.json, logs and data)').default(DIR_DEFAULT);
}

export function clusterOption(): Option {
  return new Option('--cluster <file>', 'the cluster file (default: <dir>/cluster.json)');
}

export function logLevelOption(): Option {
  return new Option('--log-level <level>', 'log level').choices([...LOG_LEVEL_CHOICES]).default('info');
}

export function logFormatOption(): Option {
  return new Option('--log-format <format>', 'log lines as text, or as JSON objects (fields timestamp, process, level, message), one a line').choices([...LOG_FORMATS]).default('text');
}

/** The cluster file a command should use: --cluster if given, else <dir>/cluster.json. */
export function resolveClusterFile(options: { dir: string; cluster?: string }): string {
  return options.cluster ? path.resolve(options.cluster) : clusterFilePath(options.dir);
}

/** --user and --credentials: whom a client logs in as (client/login.ts). */
export function addLoginOptions(command: Command): Command {
  return command
    .addOption(new Option('--user <name>', 'log in as this user; the password comes from OCCDB_PASSWORD or is asked for on the terminal (default: OCCDB_USER, else the cluster directory\'s own keys)'))
    .addOption(new Option('--credentials <file>', 'log in with the file\'s <name>:<password or token> (mode 0600; default: OCCDB_CREDENTIALS)'));
}

const TIMEOUT_MS_MAX = 24 * 60 * 60 * 1000;

/** --timeout-ms of a client (client and shell): how long one transaction may take. */
export function transactionTimeoutOption(defaultMs: number): Option {
  return new Option('--timeout-ms <ms>', "how long one transaction may take before the middleware counts as unreachable (the block's SLEEP seconds are added)")
    .default(defaultMs)
    .argParser((text: string) => {
      const value = Number(text);
      if (!/^[0-9]+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1 || value > TIMEOUT_MS_MAX) {
        throw new InvalidArgumentError(`expected a whole number of milliseconds from 1 to ${TIMEOUT_MS_MAX}`);
      }
      return value;
    });
}
