// runBlocks against a stand-in middleware: blocks go one after another as one txn.run
// each; a failed block does not stop the next; an error reply becomes a failed result;
// after QUIT nothing more is sent; losing the middleware throws with what ran before.
import test from 'ava';
import { parseCommandFile } from '../client/parser.js';
import { MiddlewareUnreachableError, runBlocks } from '../client/run.js';
import { Connection } from '../protocol/connection.js';
import { OccdbError } from '../errors/catalogue.js';
import type { TxnResult } from '../protocol/schemas.js';
import { standInMiddleware, type TxnRun } from './helpers/stand-in-middleware.js';

/** Starts a stand-in middleware on 127.0.0.1, runs `body` against it, and closes both ends. */
async function withMiddleware(
  answer: (request: TxnRun, index: number) => Promise<TxnResult> | TxnResult,
  body: (connection: Connection, requests: TxnRun[]) => Promise<void>,
): Promise<void> {
  const { server, requests } = await standInMiddleware(answer);
  const connection = new Connection({ host: '127.0.0.1', port: server.port }, 'stand-in middleware');
  try {
    await body(connection, requests);
  } finally {
    connection.close();
    await server.close();
  }
}

function result(outcome: TxnResult['outcome'], extra: Partial<TxnResult> = {}): TxnResult {
  return { outcome, retries: 0, results: [], middlewareId: 4, ...extra };
}

const THREE_BLOCKS = parseCommandFile(['BEGIN', 'PRINT 1', 'COMMIT', 'BEGIN', 'PRINT 2', 'ROLLBACK', 'BEGIN', 'PRINT 3', 'COMMIT'].join('\n'), 'three.op');

test('each block is one txn.run, sent in order with its commands and end, after a failed one too', async (t) => {
  await withMiddleware(
    (request, index) => (index === 0 ? result('failed', { error: { code: 'TXN_RETRIES_EXHAUSTED', message: 'gave up' } }) : result(request.end === 'commit' ? 'committed' : 'rolled_back')),
    async (connection, requests) => {
      const results = await runBlocks(connection, THREE_BLOCKS);
      t.deepEqual(results.map((r) => r.outcome), ['failed', 'rolled_back', 'committed']);
      t.deepEqual(requests.map((r) => r.end), ['commit', 'rollback', 'commit']);
      t.deepEqual(requests.map((r) => r.commands), THREE_BLOCKS.map((block) => block.commands));
    },
  );
});

test('an error reply from the middleware becomes a failed result at the block, and the next block still runs', async (t) => {
  await withMiddleware(
    (_request, index) => {
      if (index === 1) throw new OccdbError('MIDDLEWARE_LEAVING', 'leaving');
      return result('committed');
    },
    async (connection, requests) => {
      const results = await runBlocks(connection, THREE_BLOCKS);
      t.is(requests.length, 3);
      t.deepEqual(results[1], { outcome: 'failed', retries: 0, results: [], error: { code: 'MIDDLEWARE_LEAVING', message: 'leaving', line: 4 }, middlewareId: 4 });
      t.is(results[2]!.outcome, 'committed');
    },
  );
});

test('after a transaction that QUIT the middleware, later blocks are not sent and are reported as not run', async (t) => {
  const blocks = parseCommandFile(['BEGIN', 'QUIT', 'COMMIT', 'BEGIN', 'PRINT 1', 'COMMIT'].join('\n'), 'quit.op');
  await withMiddleware(
    () => result('committed', { quit: true }),
    async (connection, requests) => {
      const results = await runBlocks(connection, blocks);
      t.is(requests.length, 1);
      t.is(results[1]!.outcome, 'failed');
      t.is(results[1]!.error?.code, 'MIDDLEWARE_LEAVING');
      t.regex(results[1]!.error!.message, /QUIT at line 2/);
    },
  );
});

test('a middleware that stops answering throws MiddlewareUnreachableError carrying the results before it', async (t) => {
  let release: () => void = () => {};
  const never = new Promise<TxnResult>((resolve) => { release = () => resolve(result('failed')); });
  try {
    await withMiddleware(
      (_request, index) => (index === 0 ? result('committed') : never),
      async (connection) => {
        const error = await t.throwsAsync(runBlocks(connection, THREE_BLOCKS, { timeoutMs: 2000 }), { instanceOf: MiddlewareUnreachableError });
        const unreachable = error as MiddlewareUnreachableError;
        t.is(unreachable.code, 'NODE_UNAVAILABLE');
        t.is(unreachable.cause.code, 'TIMEOUT');
        t.deepEqual(unreachable.completed.map((r) => r.outcome), ['committed']);
        t.regex(unreachable.message, /outcome of the transaction at line 4 is unknown; 1 of 3 transactions ran before/);
      },
    );
  } finally {
    release();
  }
});

test('a middleware that is not running throws MiddlewareUnreachableError before any result', async (t) => {
  let port = 0;
  await withMiddleware(() => result('committed'), async (connection) => { port = connection.endpoint.port; });
  const connection = new Connection({ host: '127.0.0.1', port }, 'gone middleware');
  try {
    const error = await t.throwsAsync(runBlocks(connection, THREE_BLOCKS), { instanceOf: MiddlewareUnreachableError });
    t.deepEqual((error as MiddlewareUnreachableError).completed, []);
    t.regex(error!.message, /^gone middleware /);
  } finally {
    connection.close();
  }
});
