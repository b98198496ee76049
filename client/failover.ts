// A route through the middlewares of a cluster: each transaction goes to the middleware the
// client uses now and, when that one cannot run it, to the next ones of the cluster file, each
// tried once per transaction, with a short back-off between them. Later transactions start
// where the last move ended.
//
// The one rule that must never break: a transaction is sent again elsewhere only when that
// cannot apply it twice or report a false outcome. It moves when nothing of it was done (the
// connection could not be made; the middleware is leaving; it reported NODE_UNAVAILABLE or
// FENCED before running anything), or when it writes nothing (a read-only transaction may run
// twice). A transaction that writes, sent and never answered, may or may not have committed:
// it is not sent again and gets TXN_OUTCOME_UNKNOWN.
import { ClientConnection } from '../protocol/client-connection.js';
import { LinkError } from '../protocol/link.js';
import { OccdbError } from '../errors/catalogue.js';
import type { TxnResult } from '../protocol/schemas.js';
import type { Block } from './parser.js';
import { MIDDLEWARE_ID_NONE, type BlockSender } from './run.js';
import type { MiddlewareTarget } from './targets.js';

/** The pause before trying the second middleware of a transaction; it doubles for each one after. */
export const FAILOVER_BACKOFF_MS_DEFAULT = 100;
const FAILOVER_BACKOFF_MS_MAX = 1_000;

/** A transaction moved to another middleware: what `onMove` is told, and what --json lists. */
export interface MiddlewareMove {
  /** The middleware the client used before (its name: `MIDDLEWARE1`, or `host:port`). */
  from: string;
  /** Why it could not run the transaction: `connection refused`, `middleware leaving`, … */
  why: string;
  /** The middleware that ran it, and that later transactions start at. */
  to: string;
  /** Middlewares tried in between that could not run it either, with why. */
  skipped: { name: string; why: string }[];
  /** The transaction's first line in its command file (1 for a file without BEGIN). */
  line: number;
}

export interface FailoverOptions {
  /** Off: the route uses its first middleware only, as a plain connection would. */
  failover: boolean;
  backoffMs?: number;
  /** Called once for each transaction that moved (the CLI prints it on stderr). */
  onMove?: (move: MiddlewareMove) => void;
}

/** What one attempt on one middleware came to. */
type Attempt =
  /** Final: the result, or the error the middleware answered with (thrown to the caller). */
  | { kind: 'answer'; answer: TxnResult | OccdbError }
  /** This middleware could not run it and sending it elsewhere is safe; `last` is given to the caller if there is nowhere else. */
  | { kind: 'elsewhere'; why: string; last: TxnResult | OccdbError };

export class FailoverRoute implements BlockSender {
  private readonly connections: ClientConnection[];
  private currentIndex = 0;

  constructor(readonly targets: readonly MiddlewareTarget[], private readonly options: FailoverOptions) {
    if (targets.length === 0) throw new OccdbError('USAGE', 'a failover route needs at least one middleware');
    this.connections = targets.map((target) => new ClientConnection(target.endpoint, target.label));
  }

  /** The middleware the next transaction goes to first. */
  get current(): MiddlewareTarget {
    return this.targets[this.currentIndex]!;
  }

  get label(): string {
    return this.current.label;
  }

  /** The connection to the middleware named first, for requests about it that do not fail over (status). */
  get namedConnection(): ClientConnection {
    return this.connections[0]!;
  }

  async sendBlock(block: Block, timeoutMs: number): Promise<TxnResult> {
    const start = this.currentIndex;
    const tries = this.options.failover ? this.targets.length : 1;
    const failed: { name: string; label: string; why: string }[] = [];
    for (let step = 0; step < tries; step++) {
      const index = (start + step) % this.targets.length;
      if (step > 0) await sleep(this.backoffMs(step));
      const attempt = await this.attempt(index, block, timeoutMs);
      if (attempt.kind === 'answer') {
        if (step > 0) this.moved(start, index, failed, block);
        return give(attempt.answer);
      }
      failed.push({ name: this.targets[index]!.name, label: this.targets[index]!.label, why: attempt.why });
      // QUIT stops the middleware it runs on: moved, it would stop another one.
      if (!this.options.failover || hasQuit(block)) return give(attempt.last);
    }
    throw new OccdbError('CLUSTER_UNREACHABLE', `no middleware could run the transaction at line ${block.firstLine}: tried ${failed.map((entry) => `${entry.label} (${entry.why})`).join(', ')}`);
  }

  close(): void {
    for (const connection of this.connections) connection.close();
  }

  private async attempt(index: number, block: Block, timeoutMs: number): Promise<Attempt> {
    let result: TxnResult;
    try {
      result = await this.connections[index]!.request({ type: 'txn.run', commands: block.commands, end: block.end }, timeoutMs);
    } catch (error) {
      if (!(error instanceof OccdbError)) throw error;
      return error instanceof LinkError ? afterLinkError(error, block, this.targets[index]!) : afterErrorReply(error);
    }
    return afterResult(result);
  }

  /** Later transactions start where this one ran, unless another one in flight moved already. */
  private moved(from: number, to: number, failed: { name: string; why: string }[], block: Block): void {
    if (this.currentIndex === from) this.currentIndex = to;
    const [first, ...skipped] = failed;
    this.options.onMove?.({ from: first!.name, why: first!.why, to: this.targets[to]!.name, skipped: skipped.map(({ name, why }) => ({ name, why })), line: block.firstLine });
  }

  private backoffMs(step: number): number {
    const base = this.options.backoffMs ?? FAILOVER_BACKOFF_MS_DEFAULT;
    return Math.min(FAILOVER_BACKOFF_MS_MAX, base * 2 ** (step - 1));
  }
}

/** The one-line note of a move, as the CLI prints it. */
export function formatMove(move: MiddlewareMove): string {
  const skipped = move.skipped.map((entry) => `${entry.name} (${entry.why})`).join(', ');
  return `moved from ${move.from} (${move.why}) to ${move.to}${skipped === '' ? '' : `; also tried ${skipped}`}`;
}

/**
 * A transaction that may have changed the database if it ran: it writes and ends in COMMIT.
 * (A ROLLBACK block keeps nothing; QUIT is kept from moving on its own, see sendBlock.)
 */
export function writes(block: Pick<Block, 'commands' | 'end'>): boolean {
  return block.end === 'commit' && block.commands.some((command) => command.op === 'ASSIGN' || command.op === 'ADD' || command.op === 'DELETE');
}

function hasQuit(block: Block): boolean {
  return block.commands.some((command) => command.op === 'QUIT');
}

/** Our side of the wire failed: not sent is safe to send elsewhere; sent is, only for a transaction that writes nothing. */
function afterLinkError(error: LinkError, block: Block, target: MiddlewareTarget): Attempt {
  if (!error.sent) return { kind: 'elsewhere', why: error.reason === 'refused' ? 'connection refused' : 'could not connect', last: error };
  const why = error.code === 'TIMEOUT' ? 'no answer in time' : 'connection lost';
  if (!writes(block)) return { kind: 'elsewhere', why, last: error };
  return { kind: 'answer', answer: outcomeUnknown(error, block, target) };
}

/**
 * The middleware refused the request with an error reply: it ran nothing of it (a
 * transaction that ran comes back as a result). Leaving, unavailable and fenced mean another
 * middleware may run it; any other error is the answer.
 */
function afterErrorReply(error: OccdbError): Attempt {
  const why = movableWhy(error.code);
  return why === null ? { kind: 'answer', answer: error } : { kind: 'elsewhere', why, last: error };
}

/**
 * A result: final, unless the middleware reports it ran nothing because it is leaving, or
 * because it could not reach a process or was fenced before running anything (no line ran, no
 * commit timestamp). TXN_OUTCOME_UNKNOWN is passed on as it is.
 */
function afterResult(result: TxnResult): Attempt {
  const code = result.outcome === 'failed' ? result.error?.code : undefined;
  const why = code === undefined ? null : movableWhy(code);
  if (why === null) return { kind: 'answer', answer: result };
  const ranNothing = code === 'MIDDLEWARE_LEAVING' || (result.results.length === 0 && result.ts === undefined);
  return ranNothing ? { kind: 'elsewhere', why, last: result } : { kind: 'answer', answer: result };
}

function movableWhy(code: string): string | null {
  switch (code) {
    case 'MIDDLEWARE_LEAVING': return 'middleware leaving';
    case 'NODE_UNAVAILABLE': return 'a process it needs did not answer';
    case 'FENCED': return 'fenced';
    default: return null;
  }
}

/** The failed result of a transaction that writes, sent and never answered. */
function outcomeUnknown(error: LinkError, block: Block, target: MiddlewareTarget): TxnResult {
  const message = `the transaction was sent to ${target.label} but no answer came (${error.message}): it may or may not have committed, so it was not sent again; check with a read (PRINT) before running it again`;
  return {
    outcome: 'failed',
    retries: 0,
    results: [],
    error: { code: 'TXN_OUTCOME_UNKNOWN', message, line: block.firstLine },
    middlewareId: middlewareIdOf(target),
  };
}

function middlewareIdOf(target: MiddlewareTarget): number {
  const match = /^MIDDLEWARE(\d+)$/.exec(target.name);
  return match === null ? MIDDLEWARE_ID_NONE : Number(match[1]);
}

function give(answer: TxnResult | OccdbError): TxnResult {
  if (answer instanceof OccdbError) throw answer;
  return answer;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
