// `occdb client <middleware> <file>`: runs a command file's transactions on a middleware
// (moving to the cluster file's next ones if it cannot run them) and prints the results in
// the classic format (or as one JSON document with --json). The commands may also come from
// standard input (file `-`) or from the command line itself (-e).
//
// The parser, the connections and the cluster file's schema (and zod with them) are loaded
// by the action, not here: `occdb --help` and the other commands do not pay for them.
import fs from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { Block } from '../client/parser.js';
import { MiddlewareUnreachableError, TRANSACTION_TIMEOUT_MS_DEFAULT, runBlocksOn } from '../client/run.js';
import type { MiddlewareRouteTargets } from '../client/targets.js';
import type { MiddlewareMove } from '../client/failover.js';
import { OccdbError } from '../errors/catalogue.js';
import type { TxnResult } from '../protocol/schemas.js';
import { EXIT_CLUSTER_UNREACHABLE, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../errors/exit-codes.js';
import { clusterOption, dirOption, addLoginOptions, resolveClusterFile, transactionTimeoutOption } from './options.js';

/** A command file is read whole into memory; this keeps a wrong path (a disk image, a log) from exhausting it. */
export const COMMAND_FILE_BYTES_MAX = 64 * 1024 * 1024;

/** The name parse errors give the commands of -e, and of standard input. */
const EXPRESSION_SOURCE_NAME = '-e';
const STDIN_SOURCE_NAME = '<stdin>';

interface ClientOptions {
  /** The commands given with -e, in order. */
  execute?: string[];
  dir: string;
  cluster?: string;
  json?: boolean;
  timeoutMs?: number;
  /** true: --failover, false: --no-failover, undefined: the default for the kind of name. */
  failover?: boolean;
  user?: string;
  credentials?: string;
}

/** What --json prints: one document, whatever happened. */
interface JsonReport {
  file: string;
  middleware: string;
  address?: string;
  /** Each transaction that moved to another middleware, in order. */
  moves: MiddlewareMove[];
  transactions: TxnResult[];
  exitCode: number;
  error?: { code: string; message: string };
}

export function registerClientCommand(program: Command): void {
  addLoginOptions(program
    .command('client')
    .description(
      "Run a command file's transactions on a middleware and print the results: each PRINT value on its own line, " +
      'each error as "ERROR in line N: message". A file without BEGIN is one transaction; BEGIN ... COMMIT|ROLLBACK ' +
      'blocks make several, run in order. The file is checked first: if any line is wrong, nothing is sent. ' +
      'If the middleware cannot run a transaction, the client moves to the next middleware of the cluster file (failover).',
    )
    .argument('<middleware>', 'the middleware to send to: MIDDLEWARE<n>, middleware<n> or <n> (looked up in the cluster file), or host:port')
    .argument('[file]', 'the command file: one command a line (ASSIGN, ADD, PRINT, DELETE, SLEEP, IGNORE, MAGIC, QUIT, NOCMD, BEGIN, COMMIT, ROLLBACK); # starts a comment line; - reads it from standard input')
    .addOption(
      new Option('-e, --execute <commands>', 'run these commands instead of a file: ; or a newline separates commands; -e may be given several times, each adding its commands in order')
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .addOption(dirOption())
    .addOption(clusterOption()))
    .option('--json', 'print one JSON document {file, middleware, address, moves, transactions, exitCode} instead of the classic output')
    .option('--failover', 'move to the next middlewares of the cluster file when this one cannot run a transaction (the default for MIDDLEWARE<n>; for host:port, the cluster file is then needed)')
    .option('--no-failover', 'use only the middleware named: if it cannot be reached, stop with exit 3')
    .addOption(transactionTimeoutOption(TRANSACTION_TIMEOUT_MS_DEFAULT))
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ occdb client MIDDLEWARE1 test-scenarios/basic.op',
      '  $ occdb client 2 transfer.op --json',
      '  $ occdb client 127.0.0.1:7001 basic.op',
      '  $ occdb client MIDDLEWARE1 basic.op --no-failover',
      "  $ occdb client 1 -e 'ADD x x 1; PRINT x'",
      "  $ occdb client 1 -e 'BEGIN; ADD x x 1; COMMIT' -e 'BEGIN; PRINT x; COMMIT'",
      '  $ generate-transfers | occdb client 1 -',
      '',
      'Commands from the command line:',
      '  -e takes commands as a file would hold them, with ; or a newline between',
      '  two commands; several -e add their commands in order, as one file. Without',
      '  BEGIN they are one transaction. Errors name the line as counted after the',
      '  split (-e:2 is the second command). A file of - is read from standard input.',
      '',
      'Failover:',
      '  Named as MIDDLEWARE<n> or <n>, the client moves to the next middlewares of',
      '  the cluster file (after the one named, cycling, each tried once per',
      '  transaction) when its own refuses the connection, is leaving, or could not',
      '  run the transaction, and says so in one line on stderr:',
      '    occdb: moved from MIDDLEWARE1 (connection refused) to MIDDLEWARE2',
      '  Later transactions of the file stay on the new middleware. If none can run',
      '  it: CLUSTER_UNREACHABLE, exit 3, naming every middleware tried. A host:port',
      '  moves only with --failover; --no-failover keeps to the middleware named.',
      '  A transaction with QUIT never moves (it would stop another middleware).',
      '',
      'TXN_OUTCOME_UNKNOWN:',
      '  A transaction is sent again only when that cannot apply it twice: it never',
      '  reached a middleware, the middleware ran nothing of it, or it only reads.',
      '  One that writes (ASSIGN, ADD, DELETE), sent and never answered (connection',
      '  lost, timeout), is not sent again and fails with TXN_OUTCOME_UNKNOWN, as',
      '  when a middleware reports that code itself: it may or may not have',
      '  committed. Check with a read (PRINT the entries it writes) before running',
      '  it again.',
      '',
      'Exit codes:',
      '  0  every transaction committed',
      '  1  a transaction rolled back or failed (TXN_OUTCOME_UNKNOWN included)',
      '  2  a usage or command-file error (nothing was sent)',
      '  3  the middleware is unreachable (with failover: no middleware of the cluster is)',
    ].join('\n'))
    .action(async (middlewareName: string, file: string | undefined, options: ClientOptions) => {
      await runClient(middlewareName, file, options);
    });
}


/** Where the commands come from: the text and the name parse errors give it. */
async function readCommands(file: string | undefined, options: ClientOptions): Promise<{ text: string; name: string }> {
  if (options.execute !== undefined) {
    if (file !== undefined) throw new OccdbError('USAGE', `give either a command file (${file}) or -e commands, not both`);
    return { text: expressionText(options.execute), name: EXPRESSION_SOURCE_NAME };
  }
  if (file === undefined) throw new OccdbError('USAGE', "no commands: give a command file, - for standard input, or -e 'COMMANDS'");
  if (file === '-') return { text: await readStandardInput(), name: STDIN_SOURCE_NAME };
  return { text: await readCommandFile(file), name: file };
}

/**
 * The commands of every -e as one file: `;` ends a command as a newline does. The language
 * has no use for `;` (entry names and integers cannot hold one), so nothing is lost.
 */
function expressionText(expressions: readonly string[]): string {
  return expressions.map((expression) => expression.split(/[;\n]/).map((command) => command.trim()).join('\n')).join('\n');
}

async function runClient(middlewareName: string, file: string | undefined, options: ClientOptions): Promise<void> {
  const [{ parseCommandFile }, { formatClassic }, { resolveRoute }, { FailoverRoute, formatMove }, { loginCredentials, useLogin }] = await Promise.all([
    import('../client/parser.js'),
    import('../client/format.js'),
    import('../client/targets.js'),
    import('../client/failover.js'),
    import('../client/login.js'),
  ]);
  const source = options.execute !== undefined ? EXPRESSION_SOURCE_NAME : file === '-' ? STDIN_SOURCE_NAME : (file ?? '');
  const report: JsonReport = { file: source, middleware: middlewareName, address: undefined, moves: [], transactions: [], exitCode: EXIT_USAGE };
  // In --json mode the document is printed whatever happens, so a script always gets one;
  // the error also goes to stderr (through main.ts) for a human.
  const fail = (error: OccdbError, exitCode: number): never => {
    if (options.json) {
      report.exitCode = exitCode;
      report.error = { code: error.code, message: error.message };
      printJson(report);
    }
    throw error;
  };

  // The file first: a mistake in it must be reported before anything is sent anywhere.
  let blocks: Block[];
  try {
    const commands = await readCommands(file, options);
    blocks = parseCommandFile(commands.text, commands.name);
  } catch (error) {
    if (!(error instanceof OccdbError)) throw error;
    return fail(error, EXIT_USAGE);
  }

  let resolved: MiddlewareRouteTargets;
  try {
    resolved = resolveRoute(middlewareName, resolveClusterFile(options), { failover: options.failover });
    const login = await loginCredentials(options);
    if (login !== null) useLogin(login, resolved.targets.map((target) => target.endpoint));
  } catch (error) {
    if (!(error instanceof OccdbError)) throw error;
    return fail(error, EXIT_USAGE);
  }
  const first = resolved.targets[0]!.endpoint;
  report.address = `${first.host}:${first.port}`;

  const onMove = (move: MiddlewareMove): void => {
    report.moves.push(move);
    process.stderr.write(`occdb: ${formatMove(move)}\n`);
  };
  const route = new FailoverRoute(resolved.targets, { failover: resolved.failover, onMove });
  let transactions: TxnResult[];
  try {
    transactions = await runBlocksOn(route, blocks, { timeoutMs: options.timeoutMs });
  } catch (error) {
    if (!(error instanceof MiddlewareUnreachableError)) throw error;
    // What ran before the middleware was lost is real and must be shown.
    report.transactions = error.completed;
    if (!options.json) process.stdout.write(formatClassic(error.completed));
    // main.ts maps NODE_UNAVAILABLE and CLUSTER_UNREACHABLE to exit code 3.
    return fail(error, EXIT_CLUSTER_UNREACHABLE);
  } finally {
    route.close();
  }

  const exitCode = transactions.every((transaction) => transaction.outcome === 'committed') ? EXIT_OK : EXIT_FAILED;
  report.transactions = transactions;
  report.exitCode = exitCode;
  if (options.json) printJson(report);
  else process.stdout.write(formatClassic(transactions));
  process.exitCode = exitCode;
}

async function readCommandFile(file: string): Promise<string> {
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) throw new OccdbError('USAGE', `cannot read the command file ${file}: it is a directory`);
    if (stat.size > COMMAND_FILE_BYTES_MAX) {
      throw new OccdbError('USAGE', `the command file ${file} has ${stat.size} bytes; at most ${COMMAND_FILE_BYTES_MAX} are allowed`);
    }
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof OccdbError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new OccdbError('USAGE', `cannot read the command file ${file}: ${why}`);
  }
}

/** Standard input, whole, as a command file: up to COMMAND_FILE_BYTES_MAX bytes. */
async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    bytes += buffer.length;
    if (bytes > COMMAND_FILE_BYTES_MAX) {
      throw new OccdbError('USAGE', `standard input holds more than ${COMMAND_FILE_BYTES_MAX} bytes of commands; at most ${COMMAND_FILE_BYTES_MAX} are allowed`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function printJson(report: JsonReport): void {
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}
