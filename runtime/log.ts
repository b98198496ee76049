// One winston logger per process: to a file in the process's directory, and to stderr
// when the process runs in the foreground. Lines are text (`<time> <process> <level>: <message>`)
// or, for log collectors, one JSON object a line with the fields timestamp, process, level and
// message.
import winston from 'winston';
import type { LogFormat } from './log-format.js';

export { LOG_FORMATS, type LogFormat } from './log-format.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Logger = winston.Logger;

export function createLogger(options: { name: string; level: LogLevel; file?: string; console: boolean; format?: LogFormat }): Logger {
  const format = options.format === 'json'
    ? winston.format.combine(winston.format.timestamp(), winston.format((info) => Object.assign(info, { process: options.name }))(), winston.format.json())
    : winston.format.combine(
      winston.format.timestamp(),
      winston.format.printf((info) => `${info.timestamp} ${options.name} ${info.level}: ${info.message}`),
    );
  const transports: winston.transport[] = [];
  if (options.file) transports.push(new winston.transports.File({ filename: options.file, format }));
  if (options.console) transports.push(new winston.transports.Console({ format, stderrLevels: [...LOG_LEVELS] }));
  if (transports.length === 0) transports.push(new winston.transports.Console({ format, silent: true }));
  return winston.createLogger({ level: options.level, transports });
}

/** Waits until every transport has written out what it holds (before a process exits). */
export async function flushLogger(logger: Logger, timeoutMs = 2000): Promise<void> {
  await Promise.race([
    new Promise<void>((resolve) => {
      logger.on('finish', () => resolve());
      logger.end();
    }),
    new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
  ]);
}
