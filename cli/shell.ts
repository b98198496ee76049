// `occdb shell [middleware]`: an interactive prompt on a cluster. Each line is a transaction;
// BEGIN ... COMMIT (or ROLLBACK) across lines is one. Results print as `occdb client` prints
// them. Backslash commands: \status, \verify, \help, \q. Reading from a pipe, it prints no
// prompt, so a script can drive it.
//
// History goes to ~/.occdb_history (or the file OCCDB_HISTORY names), as psql keeps
// ~/.psql_history: what one types is the user's, across clusters, and a cluster directory may
// be a temporary one, read-only, or shared with other users. Only interactive lines are kept.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Command } from 'commander';
import type { OccdbClient } from '../client/client.js';
import type { SessionStep } from '../client/session.js';
import { OccdbError } from '../errors/catalogue.js';
import { EXIT_CLUSTER_UNREACHABLE, EXIT_FAILED, EXIT_OK } from '../errors/exit-codes.js';
import type { TxnResult } from '../protocol/schemas.js';
import { TRANSACTION_TIMEOUT_MS_DEFAULT } from '../client/run.js';
import { clusterOption, dirOption, addLoginOptions, resolveClusterFile, transactionTimeoutOption } from './options.js';

const HISTORY_FILE_NAME = '.occdb_history';
const HISTORY_LINES_MAX = 1_000;
/** History is read whole at start; a larger file is not read (it is no history this shell wrote). */
const HISTORY_BYTES_MAX = 1024 * 1024;

interface ShellOptions {
  dir: string;
  cluster?: string;
  failover?: boolean;
  timeoutMs: number;
  user?: string;
  credentials?: string;
}

const HELP_TEXT = [
  'Each line is one transaction: commands as in a command file, several on a line',
  'separated by ;  (ADD x x 1; PRINT x). BEGIN opens a block that COMMIT runs as one',
  'transaction (ROLLBACK runs it and keeps nothing). A bad line runs nothing; a block',
  'with a bad line runs nothing either.',
  '  \\status   every process of the cluster (as occdb status)',
  '  \\verify   compare the replicas key by key (as occdb verify)',
  '  \\help     this text',
  '  \\q        quit (also Ctrl-D)',
].join('\n');

export function registerShellCommand(program: Command): void {
  addLoginOptions(program
    .command('shell')
    .description(
      'An interactive prompt on the cluster: each line runs as one transaction, BEGIN ... COMMIT as one across lines; ' +
      'results print as occdb client prints them. \\status, \\verify, \\help, \\q. Reading from a pipe, no prompt is printed.',
    )
    .argument('[middleware]', 'the middleware to send to: MIDDLEWARE<n>, <n> or host:port (default: the first of the cluster file, with failover)')
    .addOption(dirOption())
    .addOption(clusterOption()))
    .option('--failover', 'move to the next middlewares of the cluster file when this one cannot run a transaction (the default for MIDDLEWARE<n>)')
    .option('--no-failover', 'use only the middleware named')
    .addOption(transactionTimeoutOption(TRANSACTION_TIMEOUT_MS_DEFAULT))
    .addHelpText('after', [
      '',
      HELP_TEXT,
      '',
      'History: ~/.occdb_history, or the file the OCCDB_HISTORY environment variable names',
      '(interactive lines only).',
      '',
      'Examples:',
      '  $ occdb shell --dir ./demo',
      "  $ printf 'ADD x x 1\\nPRINT x\\n' | occdb shell 2 --dir ./demo",
      '',
      'Exit codes (when the input ends):',
      '  0  every line ran and every transaction committed',
      '  1  a line was refused, or a transaction rolled back or failed',
      '  3  a transaction found no middleware to run it',
    ].join('\n'))
    .action(async (middlewareName: string | undefined, options: ShellOptions) => {
      await runShell(middlewareName, options);
    });
}


async function runShell(middlewareName: string | undefined, options: ShellOptions): Promise<void> {
  const [{ OccdbClient }, { ShellSession }, { formatClassic }, { formatMove }, { readClusterFile }, { loginCredentials, useLogin }, { resolveRoute }] = await Promise.all([
    import('../client/client.js'),
    import('../client/session.js'),
    import('../client/format.js'),
    import('../client/failover.js'),
    import('../cluster/cluster-file.js'),
    import('../client/login.js'),
    import('../client/targets.js'),
  ]);
  const clusterFile = resolveClusterFile(options);
  let name = middlewareName;
  if (name === undefined) {
    const first = readClusterFile(clusterFile).middlewares[0]!;
    name = `MIDDLEWARE${first.id}`;
  }
  const login = await loginCredentials(options);
  if (login !== null) useLogin(login, resolveRoute(name, clusterFile, options.failover === undefined ? {} : { failover: options.failover }).targets.map((target) => target.endpoint));
  const client: OccdbClient = OccdbClient.connect(name, {
    clusterFile,
    ...(options.failover !== undefined ? { failover: options.failover } : {}),
    onMove: (move) => process.stderr.write(`occdb: ${formatMove(move)}\n`),
  });

  const interactive = process.stdin.isTTY === true;
  const historyFile = process.env.OCCDB_HISTORY ?? path.join(os.homedir(), HISTORY_FILE_NAME);
  const lines = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: interactive,
    history: interactive ? readHistory(historyFile) : [],
    historySize: HISTORY_LINES_MAX,
    removeHistoryDuplicates: true,
  });
  const session = new ShellSession();
  let exitCode = EXIT_OK;
  const worsen = (code: number): void => {
    exitCode = Math.max(exitCode, code);
  };
  const prompt = (): void => {
    if (!interactive) return;
    lines.setPrompt(session.inBlock ? `${client.target.name}*> ` : `${client.target.name}> `);
    lines.prompt();
  };
  const carryOut = async (steps: SessionStep[]): Promise<void> => {
    for (const step of steps) {
      if (step.kind === 'refused') {
        process.stderr.write(`occdb: ${step.message}\n`);
        worsen(EXIT_FAILED);
        continue;
      }
      let result: TxnResult;
      try {
        result = await client.run(step.commands, { end: step.end, timeoutMs: options.timeoutMs });
      } catch (error) {
        if (!(error instanceof OccdbError)) throw error;
        process.stderr.write(`occdb: ${error.message}\n`);
        worsen(EXIT_CLUSTER_UNREACHABLE);
        continue;
      }
      process.stdout.write(formatClassic([result]));
      if (result.outcome !== 'committed') worsen(EXIT_FAILED);
    }
  };

  if (interactive) process.stdout.write(`occdb shell on ${client.target.label}; \\help for help, \\q to quit\n`);
  // Ctrl-C drops the line being typed, as in psql and bash; \q or Ctrl-D quits.
  lines.on('SIGINT', () => {
    process.stdout.write('^C\n');
    lines.write(null, { ctrl: true, name: 'u' });
    prompt();
  });
  let lineNumber = 0;
  try {
    prompt();
    for await (const text of lines) {
      lineNumber += 1;
      if (interactive && text.trim() !== '') appendHistory(historyFile, text);
      const trimmed = text.trim();
      if (trimmed.startsWith('\\')) {
        if (session.inBlock && trimmed !== '\\q') {
          process.stderr.write(`occdb: line ${lineNumber}: ${trimmed} inside a block: end it with COMMIT or ROLLBACK first\n`);
          worsen(EXIT_FAILED);
        } else if (!(await backslashCommand(trimmed, lineNumber, clusterFile, worsen))) {
          break;
        }
      } else {
        await carryOut(session.feed(text, lineNumber));
      }
      prompt();
    }
    await carryOut(session.finish());
  } finally {
    lines.close();
    client.close();
  }
  process.exitCode = exitCode;
}

/** Carries out a backslash command; false when it ends the shell. */
async function backslashCommand(text: string, lineNumber: number, clusterFile: string, worsen: (code: number) => void): Promise<boolean> {
  const word = text.split(/\s+/, 1)[0]!;
  switch (word) {
    case '\\q':
    case '\\quit':
      return false;
    case '\\help':
    case '\\?':
      process.stdout.write(`${HELP_TEXT}\n`);
      return true;
    case '\\status':
    case '\\verify': {
      const [{ readClusterFile }, { consoleOutput }] = await Promise.all([import('../cluster/cluster-file.js'), import('../startup/output.js')]);
      try {
        const cluster = readClusterFile(clusterFile);
        const good = word === '\\status'
          ? await (await import('../startup/status.js')).runStatus(cluster, false, consoleOutput)
          : await (await import('../startup/verify.js')).runVerify(cluster, false, consoleOutput);
        if (!good) worsen(EXIT_FAILED);
      } catch (error) {
        if (!(error instanceof OccdbError)) throw error;
        process.stderr.write(`occdb: ${error.message}\n`);
        worsen(EXIT_FAILED);
      }
      return true;
    }
    default:
      process.stderr.write(`occdb: line ${lineNumber}: unknown command ${word} (the commands are \\status, \\verify, \\help, \\q)\n`);
      worsen(EXIT_FAILED);
      return true;
  }
}

/** The history, newest first as readline wants it; none if the file cannot be read. */
function readHistory(file: string): string[] {
  try {
    if (fs.statSync(file).size > HISTORY_BYTES_MAX) return [];
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
    const kept = lines.slice(-HISTORY_LINES_MAX);
    // Keep the file bounded: rewrite it when it has grown past the limit.
    if (kept.length < lines.length) fs.writeFileSync(file, kept.map((line) => `${line}\n`).join(''));
    return kept.reverse();
  } catch {
    return [];
  }
}

function appendHistory(file: string, line: string): void {
  try {
    fs.appendFileSync(file, `${line}\n`, { mode: 0o600 });
  } catch {
    // History is a convenience: a file that cannot be written costs the user nothing else.
  }
}
