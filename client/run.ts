// Runs a command file's blocks: one txn.run request per block, one after another, on one
// connection or on a route that moves to another middleware (failover.ts). Blocks are
// independent transactions, so a block that fails does not stop the ones after it; only
// losing every middleware it may use does.
import type { RequestLink } from '../protocol/connection.js';
import { OccdbError, isUnavailableError, type ErrorCode } from '../errors/catalogue.js';
import { type TxnResult } from '../protocol/schemas.js';
import type { Block } from './parser.js';

/** How long a transaction may take, on top of the SLEEPs it asks for. */
export const TRANSACTION_TIMEOUT_MS_DEFAULT = 60_000;

/** The middlewareId of a result made up by the client for a block no middleware answered. */
export const MIDDLEWARE_ID_NONE = 0;

/**
 * The middleware stopped answering (NODE_UNAVAILABLE or TIMEOUT of the connection), or with
 * failover no middleware of the cluster did (CLUSTER_UNREACHABLE), so the remaining blocks
 * were not run. `completed` holds the results of the blocks before it.
 */
export class MiddlewareUnreachableError extends OccdbError {
  constructor(
    message: string,
    readonly cause: OccdbError,
    readonly completed: TxnResult[],
  ) {
    super(cause.code === 'CLUSTER_UNREACHABLE' ? 'CLUSTER_UNREACHABLE' : 'NODE_UNAVAILABLE', message);
    this.name = 'MiddlewareUnreachableError';
  }
}

/** What runs one block as one transaction: one connection (below), or a failover route. */
export interface BlockSender {
  /** Names the middleware in messages: the one the latest transaction ran on. */
  readonly label: string;
  /**
   * Runs `block` within `timeoutMs`. Rejects with NODE_UNAVAILABLE, TIMEOUT or
   * CLUSTER_UNREACHABLE when no middleware could run it, with any other OccdbError when the
   * middleware answered with that error.
   */
  sendBlock(block: Block, timeoutMs: number): Promise<TxnResult>;
}

/** A sender over one connection: no failover. */
export function linkSender(connection: RequestLink): BlockSender {
  return {
    get label() { return connection.label; },
    sendBlock: (block, timeoutMs) => connection.request({ type: 'txn.run', commands: block.commands, end: block.end }, timeoutMs),
  };
}

/**
 * Sends each block as one transaction and returns one result per block, in order.
 *
 * An error reply from the middleware (it is leaving, it refused the message) becomes a
 * `failed` result for that block, and the next block is still sent. After a result with
 * `quit` (the middleware stops), the blocks left are not sent and get `failed` results.
 * Losing the connection (NODE_UNAVAILABLE) or a timeout throws MiddlewareUnreachableError:
 * a transaction-level failure must come back as a TxnResult, not as an error reply with
 * one of those codes.
 *
 * `timeoutMs` bounds each transaction; the block's SLEEP seconds are added to it.
 */
export async function runBlocks(connection: RequestLink, blocks: Block[], options: { timeoutMs?: number } = {}): Promise<TxnResult[]> {
  return runBlocksOn(linkSender(connection), blocks, options);
}

/** runBlocks() on any BlockSender, such as a failover route (failover.ts). */
export async function runBlocksOn(sender: BlockSender, blocks: Block[], options: { timeoutMs?: number } = {}): Promise<TxnResult[]> {
  const timeoutMsBase = options.timeoutMs ?? TRANSACTION_TIMEOUT_MS_DEFAULT;
  const results: TxnResult[] = [];
  let middlewareId = MIDDLEWARE_ID_NONE;
  let quit: { line: number; label: string } | null = null;

  for (const block of blocks) {
    if (quit !== null) {
      results.push(notRun(block, 'MIDDLEWARE_LEAVING', `not run: ${quit.label} stopped after the QUIT at line ${quit.line}`, middlewareId));
      continue;
    }
    const timeoutMs = timeoutMsBase + sleepSeconds(block) * 1000;
    let result: TxnResult;
    try {
      result = await sender.sendBlock(block, timeoutMs);
    } catch (error) {
      if (!(error instanceof OccdbError)) throw error;
      if (isUnavailableError(error) || error.code === 'CLUSTER_UNREACHABLE') {
        throw new MiddlewareUnreachableError(unreachableMessage(error, block, results.length, blocks.length), error, results);
      }
      results.push(notRun(block, error.code, error.message, middlewareId));
      continue;
    }
    results.push(result);
    middlewareId = result.middlewareId;
    if (result.quit === true) quit = { line: quitCommandLine(block) ?? block.lastLine, label: sender.label };
  }
  return results;
}

function sleepSeconds(block: Block): number {
  let seconds = 0;
  for (const command of block.commands) if (command.op === 'SLEEP') seconds += command.seconds;
  return seconds;
}

function quitCommandLine(block: Block): number | undefined {
  return block.commands.find((command) => command.op === 'QUIT')?.line;
}

function notRun(block: Block, code: ErrorCode, message: string, middlewareId: number): TxnResult {
  return { outcome: 'failed', retries: 0, results: [], error: { code, message, line: block.firstLine }, middlewareId };
}

function unreachableMessage(error: OccdbError, block: Block, completedCount: number, blockCount: number): string {
  const parts = [error.message];
  // After a timeout the request did reach the middleware: it may have committed.
  if (error.code === 'TIMEOUT') parts.push(`the outcome of the transaction at line ${block.firstLine} is unknown`);
  if (blockCount > 1) parts.push(`${completedCount} of ${blockCount} transactions ran before`);
  return parts.join('; ');
}
