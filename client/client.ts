// The programmatic client: connect to one middleware (by cluster file and id, or host:port),
// run transactions given as command text or parsed commands, and get the same result
// objects `occdb client --json` prints. Many transactions may be in flight at once over one
// connection; each is answered on its own.
import { findMiddleware, middlewareClientEndpoint, parseHostPort, parseNodeName, readClusterFile } from '../cluster/cluster-file.js';
import { Connection, type Endpoint } from '../protocol/connection.js';
import { OccdbError } from '../errors/catalogue.js';
import { type Command, type Status, type TxnResult } from '../protocol/schemas.js';
import { parseCommandFile, type Block } from './parser.js';
import { TRANSACTION_TIMEOUT_MS_DEFAULT, runBlocks } from './run.js';

export interface MiddlewareTarget {
  /** How messages name the middleware: `MIDDLEWARE1 at 127.0.0.1:7001`, or `middleware at host:port`. */
  label: string;
  endpoint: Endpoint;
}

/**
 * Resolves `MIDDLEWARE<n>`, `middleware<n>`, `<n>` (through the cluster file) or `host:port`
 * (no cluster file needed).
 */
export function resolveMiddleware(name: string, clusterFile: string): MiddlewareTarget {
  const endpoint = parseHostPort(name);
  if (endpoint !== null) return { label: `middleware at ${endpoint.host}:${endpoint.port}`, endpoint };
  const id = parseNodeName(name, 'MIDDLEWARE');
  if (id === null) {
    throw new OccdbError('USAGE', `'${name}' names no middleware: use MIDDLEWARE<n>, middleware<n>, <n> or host:port`);
  }
  const cluster = readClusterFile(clusterFile);
  const resolved = middlewareClientEndpoint(findMiddleware(cluster, id));
  return { label: `MIDDLEWARE${id} at ${resolved.host}:${resolved.port}`, endpoint: resolved };
}

export interface RunOptions {
  /** How the transaction ends when it has no error: commit (default) or rollback. */
  end?: 'commit' | 'rollback';
  /** On top of the transaction's SLEEPs. */
  timeoutMs?: number;
}

export class OccdbClient {
  private readonly connection: Connection;

  constructor(readonly target: MiddlewareTarget) {
    this.connection = new Connection(target.endpoint, target.label);
  }

  /** Connects (lazily) to `name` as resolveMiddleware() reads it. */
  static connect(name: string, options: { clusterFile?: string } = {}): OccdbClient {
    return new OccdbClient(resolveMiddleware(name, options.clusterFile ?? ''));
  }

  /**
   * Runs one transaction: command text without BEGIN, or parsed commands. Rejects with an
   * OccdbError (NODE_UNAVAILABLE, TIMEOUT) only when the middleware cannot be reached; every
   * transaction-level outcome (committed, rolled back, failed) is a result.
   */
  async run(transaction: string | Command[], options: RunOptions = {}): Promise<TxnResult> {
    const commands = typeof transaction === 'string' ? singleBlock(parseCommandFile(transaction, 'transaction')) : transaction;
    const sleepMs = commands.reduce((sum, command) => sum + (command.op === 'SLEEP' ? command.seconds * 1000 : 0), 0);
    return this.connection.request(
      { type: 'txn.run', commands, end: options.end ?? 'commit' },
      (options.timeoutMs ?? TRANSACTION_TIMEOUT_MS_DEFAULT) + sleepMs,
    );
  }

  /** Runs a whole command file (several BEGIN blocks allowed), one transaction after another. */
  async runFile(text: string, fileName = 'commands', options: { timeoutMs?: number } = {}): Promise<TxnResult[]> {
    return runBlocks(this.connection, parseCommandFile(text, fileName), options);
  }

  async status(timeoutMs = 5_000): Promise<Status> {
    return this.connection.request({ type: 'status' }, timeoutMs);
  }

  close(): void {
    this.connection.close();
  }
}

function singleBlock(blocks: Block[]): Command[] {
  if (blocks.length !== 1 || blocks[0]!.end !== 'commit') {
    throw new OccdbError('BAD_COMMAND_FILE', 'run() takes one transaction without BEGIN/COMMIT; use runFile() for blocks');
  }
  return blocks[0]!.commands;
}
