// Options shared by several subcommands.
import path from 'node:path';
import { Option } from 'commander';
import { LOG_LEVELS } from '../runtime/log.js';
import { LOG_FORMATS } from '../runtime/log-format.js';
import { clusterFilePath } from '../cluster/cluster-file.js';

export const DIR_DEFAULT = './.occdb';

export function dirOption(): Option {
  return new Option('--dir <dir>', 'the cluster directory (holds cluster.json, logs and data)').default(DIR_DEFAULT);
}

export function clusterOption(): Option {
  return new Option('--cluster <file>', 'the cluster file (default: <dir>/cluster.json)');
}

export function logLevelOption(): Option {
  return new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]).default('info');
}

export function logFormatOption(): Option {
  return new Option('--log-format <format>', 'log lines as text, or as JSON objects (fields timestamp, process, level, message), one a line').choices([...LOG_FORMATS]).default('text');
}

/** The cluster file a command should use: --cluster if given, else <dir>/cluster.json. */
export function resolveClusterFile(options: { dir: string; cluster?: string }): string {
  return options.cluster ? path.resolve(options.cluster) : clusterFilePath(options.dir);
}
