// The programmatic client: connect to a middleware (by cluster file and id, or host:port),
// run transactions given as command text or parsed commands, and get the same result
// objects `occdb client --json` prints. Many transactions may be in flight at once over one
// connection; each is answered on its own. Named through the cluster file, the client moves
// to another middleware of it when its own cannot run a transaction (failover.ts).
import { OccdbError } from '../errors/catalogue.js';
import { type Command, type Status, type TxnResult } from '../protocol/schemas.js';
import { FailoverRoute, type MiddlewareMove } from './failover.js';
import { parseCommandFile, type Block } from './parser.js';
import { TRANSACTION_TIMEOUT_MS_DEFAULT, runBlocksOn } from './run.js';
import { resolveRoute, type MiddlewareTarget } from './targets.js';

export { resolveMiddleware, resolveRoute, type MiddlewareTarget } from './targets.js';
export type { MiddlewareMove } from './failover.js';

export interface ConnectOptions {
  clusterFile?: string;
  /**
   * Move to the cluster file's next middlewares when this one cannot run a transaction.
   * Default: on for a middleware named through the cluster file, off for host:port.
   */
  failover?: boolean;
  /** Told of each transaction that moved (nothing is printed otherwise). */
  onMove?: (move: MiddlewareMove) => void;
  /** The pause before the second middleware a transaction tries (doubles after). */
  backoffMs?: number;
}

export interface RunOptions {
  /** How the transaction ends when it has no error: commit (default) or rollback. */
  end?: 'commit' | 'rollback';
  /** On top of the transaction's SLEEPs. */
  timeoutMs?: number;
}

export class OccdbClient {
  private readonly route: FailoverRoute;

  constructor(targets: MiddlewareTarget | readonly MiddlewareTarget[], options: Omit<ConnectOptions, 'clusterFile'> = {}) {
    const list = Array.isArray(targets) ? targets : [targets as MiddlewareTarget];
    this.route = new FailoverRoute(list, { failover: options.failover ?? list.length > 1, onMove: options.onMove, backoffMs: options.backoffMs });
  }

  /** Connects (lazily) to `name` as resolveRoute() reads it. */
  static connect(name: string, options: ConnectOptions = {}): OccdbClient {
    const { targets, failover } = resolveRoute(name, options.clusterFile ?? '', { failover: options.failover });
    return new OccdbClient(targets, { ...options, failover });
  }

  /** The middleware the next transaction goes to first. */
  get target(): MiddlewareTarget {
    return this.route.current;
  }

  /**
   * Runs one transaction: command text without BEGIN, or parsed commands. Rejects with an
   * OccdbError only when no middleware can run it: NODE_UNAVAILABLE or TIMEOUT without
   * failover, CLUSTER_UNREACHABLE with it (naming every middleware tried), or the code of an
   * error reply. Every transaction-level outcome (committed, rolled back, failed) is a result;
   * a transaction that writes, sent and never answered, is a failed result with
   * TXN_OUTCOME_UNKNOWN: it may or may not have committed.
   */
  async run(transaction: string | Command[], options: RunOptions = {}): Promise<TxnResult> {
    const commands = typeof transaction === 'string' ? singleBlock(parseCommandFile(transaction, 'transaction')) : transaction;
    const sleepMs = commands.reduce((sum, command) => sum + (command.op === 'SLEEP' ? command.seconds * 1000 : 0), 0);
    const block: Block = { commands, end: options.end ?? 'commit', firstLine: commands[0]?.line ?? 1, lastLine: commands.at(-1)?.line ?? 1 };
    return this.route.sendBlock(block, (options.timeoutMs ?? TRANSACTION_TIMEOUT_MS_DEFAULT) + sleepMs);
  }

  /** Runs a whole command file (several BEGIN blocks allowed), one transaction after another. */
  async runFile(text: string, fileName = 'commands', options: { timeoutMs?: number } = {}): Promise<TxnResult[]> {
    return runBlocksOn(this.route, parseCommandFile(text, fileName), options);
  }

  /** The status of the middleware named at connect(), even after transactions moved (no failover). */
  async status(timeoutMs = 5_000): Promise<Status> {
    return this.route.namedConnection.request({ type: 'status' }, timeoutMs);
  }

  close(): void {
    this.route.close();
  }
}

function singleBlock(blocks: Block[]): Command[] {
  if (blocks.length !== 1 || blocks[0]!.end !== 'commit') {
    throw new OccdbError('BAD_COMMAND_FILE', 'run() takes one transaction without BEGIN/COMMIT; use runFile() for blocks');
  }
  return blocks[0]!.commands;
}
