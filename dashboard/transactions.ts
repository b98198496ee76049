// The dashboard's run form: command lines, as in a command file (BEGIN ... COMMIT blocks
// allowed), run on the middleware chosen and on no other (a user who picks a middleware wants
// to see that one answer), with the result as the classic client prints it.
import { z } from 'zod';
import { OccdbClient, resolveMiddleware } from '../client/client.js';
import { formatClassic } from '../client/format.js';
import { MiddlewareUnreachableError } from '../client/run.js';
import { OccdbError, type ErrorCode } from '../errors/catalogue.js';
import type { TxnResult } from '../protocol/schemas.js';

/** The form's text is at most this long: plenty for commands typed by hand. */
export const RUN_TEXT_CHARS_MAX = 16 * 1024;
/** How long one transaction run from the form may take, on top of its SLEEPs. */
const RUN_TIMEOUT_MS = 30_000;

export const RunRequestSchema = z.object({
  middleware: z.number().int().positive().max(1_000_000),
  commands: z.string().min(1, 'commands is empty: write one command a line').max(RUN_TEXT_CHARS_MAX, `commands is longer than ${RUN_TEXT_CHARS_MAX} characters`),
}).strict();
export type RunRequest = z.infer<typeof RunRequestSchema>;

export interface RunAnswer {
  middleware: string;
  /** One result per transaction run, as `occdb client --json` lists them (with their traceId when the middleware gives one). */
  transactions: TxnResult[];
  /** What `occdb client` prints for them. */
  classic: string;
  /** The middleware stopped answering before every transaction ran: the ones after it were not sent. */
  error: { code: ErrorCode; message: string } | null;
}

/**
 * Runs `request` on its middleware of the cluster in `clusterFile`. Rejects with an OccdbError
 * for the user's mistakes (a command line that does not parse, BAD_COMMAND_FILE naming the line;
 * a middleware the cluster lacks, USAGE), which the server answers as a bad request.
 */
export async function runTransactions(clusterFile: string, request: RunRequest): Promise<RunAnswer> {
  const target = resolveMiddleware(`MIDDLEWARE${request.middleware}`, clusterFile);
  const client = new OccdbClient(target, { failover: false });
  try {
    const transactions = await client.runFile(request.commands, 'commands', { timeoutMs: RUN_TIMEOUT_MS });
    return { middleware: target.name, transactions, classic: formatClassic(transactions), error: null };
  } catch (error) {
    if (error instanceof MiddlewareUnreachableError) {
      return { middleware: target.name, transactions: error.completed, classic: formatClassic(error.completed), error: { code: error.code, message: error.message } };
    }
    if (error instanceof OccdbError && (error.code === 'NODE_UNAVAILABLE' || error.code === 'TIMEOUT')) {
      return { middleware: target.name, transactions: [], classic: '', error: { code: error.code, message: error.message } };
    }
    throw error;
  } finally {
    client.close();
  }
}
