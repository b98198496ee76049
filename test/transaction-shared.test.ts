// What both strategies share (transaction/): the footprint of a block, the retry policy, the
// result builders and transaction ids, each against the rule it implements.
import test from 'ava';
import { parseCommandFile } from '../client/parser.js';
import { accessesOf, keysToPrefetch } from '../transaction/footprint.js';
import { endedResult, failedResult } from '../transaction/results.js';
import { backoffMs, runWithRetries, TRANSACTION_LIMITS_DEFAULT, type AttemptOutcome } from '../transaction/retry.js';
import { TxidSource } from '../transaction/txid.js';

const commands = (text: string) => parseCommandFile(text, 'test.op')[0]!.commands;

test('the footprint lists every key a block may touch, first-touch order, written when any command may write it', (t) => {
  const accesses = accessesOf(commands('PRINT a\nADD b a c\nIGNORE\nASSIGN c 1\nDELETE d\nPRINT 5\n'));
  t.deepEqual([...accesses], [['a', 'read'], ['c', 'write'], ['b', 'write'], ['d', 'write']], 'ADD b a c reads c before it writes b; c is written later');
});

test('the prefetch takes the keys read before they are certainly written; a write after IGNORE is not certain', (t) => {
  t.deepEqual(keysToPrefetch(commands('ASSIGN a 1\nPRINT a\nIGNORE\nASSIGN b 2\nPRINT b\nDELETE c\n')), ['b', 'c']);
});

test('attempts run until one gives a result; the back-off between them is drawn from the policy', async (t) => {
  const sleeps: number[] = [];
  let runs = 0;
  const result = await runWithRetries(async (attempt): Promise<AttemptOutcome> => {
    runs += 1;
    if (attempt < 3) return { retry: { code: 'TXN_RETRIES_EXHAUSTED', detail: `conflict ${attempt}` } };
    return { result: failedResult(1, attempt, 'USAGE', 'the fourth attempt answers') };
  }, { middlewareId: 1, limits: TRANSACTION_LIMITS_DEFAULT, random: () => 0.5, sleep: async (ms) => { sleeps.push(ms); } });
  t.is(runs, 4);
  t.is(result.error?.message, 'the fourth attempt answers');
  t.deepEqual(sleeps, [0, 1, 2].map((attempt) => backoffMs(attempt, TRANSACTION_LIMITS_DEFAULT, () => 0.5)));
});

test('after the retry budget the transaction fails with the code its last attempt named, and the last reason', async (t) => {
  const limits = { ...TRANSACTION_LIMITS_DEFAULT, retryCountMax: 2 };
  const result = await runWithRetries(async (attempt): Promise<AttemptOutcome> => ({ retry: { code: 'NODE_UNAVAILABLE', detail: `home down ${attempt}` } }),
    { middlewareId: 7, limits, random: () => 0, sleep: async () => {} });
  t.like(result, { outcome: 'failed', retries: 2, middlewareId: 7, results: [], error: { code: 'NODE_UNAVAILABLE' } });
  t.regex(result.error!.message, /ran 3 times.*home down 2/);
});

test('the back-off grows exponentially up to its ceiling, with full jitter below it', (t) => {
  const limits = { retryCountMax: 10, backoffMsBase: 2, backoffMsMax: 100 };
  t.is(backoffMs(0, limits, () => 0.999), 1);
  t.is(backoffMs(3, limits, () => 0.999), 15);
  t.is(backoffMs(30, limits, () => 0.999), 99);
  t.is(backoffMs(30, limits, () => 0), 0);
});

test('a block that ran to COMMIT without error is committed at its timestamp; an error or ROLLBACK rolls it back with what it printed', (t) => {
  const printed = [{ line: 1, kind: 'print' as const, value: '5' }];
  t.like(endedResult({ results: printed, quit: false }, 'commit', [4, 2], 1, 3), { outcome: 'committed', ts: [4, 2], retries: 1, middlewareId: 3, results: printed });
  t.like(endedResult({ results: printed, quit: true }, 'rollback', [4, 2], 0, 3), { outcome: 'rolled_back', quit: true, error: { code: 'TXN_ROLLED_BACK' } });
  const error = { line: 2, code: 'ENTRY_NONEXISTENT' as const, message: 'nonexistent: arg1' };
  const failed = endedResult({ results: printed, error, quit: false }, 'commit', [4, 2], 0, 3);
  t.like(failed, { outcome: 'rolled_back', error });
  t.is(failed.ts, undefined, 'a rolled-back transaction has no commit timestamp');
});

test('transaction ids are unique within a process and differ between two lives of one middleware', (t) => {
  const first = new TxidSource(2, 100, 1_000);
  const ids = new Set(Array.from({ length: 1000 }, () => first.next()));
  t.is(ids.size, 1000);
  const restarted = new TxidSource(2, 100, 2_000);
  t.false(ids.has(restarted.next()), 'same pid after a restart, later start time: new ids');
});
