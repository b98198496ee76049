// The command interpreter against a private workspace: the classic semantics of every
// command, IGNORE, errors that roll back, overflow, and the single prefetch of reads.
import test from 'ava';
import { keysToPrefetch } from '../transaction/footprint.js';
import { interpret, type InterpreterContext } from '../transaction/interpreter.js';
import { Workspace } from '../transaction/workspace.js';
import { OccdbError } from '../errors/catalogue.js';
import { parseCommandFile } from '../client/parser.js';
import type { Timestamp } from '../timestamp/timestamp.js';

function context(stored: Record<string, unknown>, reads: string[][] = []): InterpreterContext & { workspace: Workspace } {
  const workspace = new Workspace();
  return {
    workspace,
    readKeys: async (keys) => {
      reads.push(keys);
      for (const key of keys) workspace.recordRead(key, (key in stored ? [1, 1] : [0, 0]) as Timestamp, stored[key]);
    },
    magic: (args) => {
      if (args.every((value) => value === 0)) return '0 1 test';
      throw new OccdbError('MAGIC_UNKNOWN', `Operation failed or unknown: MAGIC ${args.join(' ')}`);
    },
    sleep: async () => {},
  };
}

const commands = (text: string) => parseCommandFile(text, 'test.op')[0]!.commands;

test('the classic example: A := 10, B := A + 10, prints 10 and 20, with no replica read at all', async (t) => {
  const reads: string[][] = [];
  const ctx = context({}, reads);
  const outcome = await interpret(commands('ASSIGN A 10\nADD B A 10\nPRINT A\nPRINT B\n'), ctx);
  t.deepEqual(outcome.results.map((r) => r.kind === 'print' && r.value), ['10', '20']);
  t.deepEqual(reads, [], 'A is written before it is read: nothing to fetch');
  t.deepEqual(ctx.workspace.writeSet, [{ key: 'A', value: 10 }, { key: 'B', value: 20 }]);
});

test('every key read before it is written is fetched in one request up front', async (t) => {
  const reads: string[][] = [];
  await interpret(commands('PRINT x\nADD y x z\nASSIGN x 1\nPRINT x\nPRINT w\n'), context({ x: 1, z: 2, w: 3 }, reads));
  t.deepEqual(reads, [['x', 'z', 'w']]);
});

test('a write after IGNORE may not happen, so a later read of that key is still prefetched', (t) => {
  t.deepEqual(keysToPrefetch(commands('IGNORE\nASSIGN a missing\nPRINT a\n')), ['missing', 'a']);
});

test('reading a missing entry is an error that stops the transaction, with the classic message', async (t) => {
  const outcome = await interpret(commands('ASSIGN a 1\nADD b a missing\nPRINT a\n'), context({}));
  t.deepEqual(outcome.error, { line: 2, code: 'ENTRY_NONEXISTENT', message: 'nonexistent: arg3 (missing)' });
  t.deepEqual(outcome.results, [{ line: 2, kind: 'error', code: 'ENTRY_NONEXISTENT', message: 'nonexistent: arg3 (missing)' }]);
});

test('IGNORE covers exactly the next command: its error is not reported and it has no effect', async (t) => {
  const ctx = context({});
  const outcome = await interpret(commands('IGNORE\nASSIGN a missing\nPRINT 5\nPRINT missing\n'), ctx);
  t.deepEqual(outcome.results[0], { line: 3, kind: 'print', value: '5' });
  t.is(outcome.error?.line, 4, 'the command after the ignored one reports again');
  t.deepEqual(ctx.workspace.writeSet, []);
});

test('DELETE of an entry that does not exist fails; of one that does, writes a tombstone', async (t) => {
  t.is((await interpret(commands('DELETE ghost\n'), context({}))).error?.message, 'delete failed: arg1 (ghost)');
  const ctx = context({ real: 4 });
  t.is((await interpret(commands('DELETE real\n'), ctx)).error, undefined);
  t.deepEqual(ctx.workspace.writeSet, [{ key: 'real' }]);
  t.is((await interpret(commands('DELETE real\nPRINT real\n'), context({ real: 4 }))).error?.message, 'nonexistent: arg1 (real)');
});

test('an addition beyond the safe integers is an error, never a silent wrap', async (t) => {
  const outcome = await interpret(commands(`ASSIGN big ${Number.MAX_SAFE_INTEGER}\nADD big big 1\n`), context({}));
  t.is(outcome.error?.code, 'INTEGER_OVERFLOW');
});

test('negative literals and entries holding something that is not an integer', async (t) => {
  const outcome = await interpret(commands('ADD n -5 -7\nPRINT n\nPRINT odd\n'), context({ odd: 'text' }));
  t.deepEqual(outcome.results[0], { line: 2, kind: 'print', value: '-12' });
  t.is(outcome.error?.message, 'bogus contents: arg1 (odd)');
});

test('MAGIC 0 0 0 prints the middleware\'s answer; an unknown MAGIC is an error; QUIT is reported', async (t) => {
  const outcome = await interpret(commands('MAGIC 0 0 0\nQUIT\nNOCMD\n'), context({}));
  t.deepEqual(outcome.results, [{ line: 1, kind: 'print', value: '0 1 test' }]);
  t.true(outcome.quit);
  t.is((await interpret(commands('MAGIC 1 2 3\n'), context({}))).error?.code, 'MAGIC_UNKNOWN');
});
