// The command-file parser: what every good line becomes, and that every kind of bad line
// is refused with the file name, the line number and a sentence naming what is wrong.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { PARSE_ERRORS_MAX, parseCommandFile, type Block } from '../client/parser.js';
import { OccdbError } from '../errors/catalogue.js';
import { CommandSchema } from '../protocol/schemas.js';

const FILE = 'case.op';
const SCENARIOS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-scenarios');

function parse(lines: string[]): Block[] {
  return parseCommandFile(lines.join('\n') + '\n', FILE);
}

/** Parses a file that must be refused; returns the error's message lines. */
function refuse(t: import('ava').ExecutionContext, lines: string[]): string[] {
  const error = t.throws(() => parse(lines), { instanceOf: OccdbError });
  t.is((error as OccdbError).code, 'BAD_COMMAND_FILE');
  return error!.message.split('\n');
}

// ---- good files ----

test('the classic example is one committed transaction of four commands', (t) => {
  const blocks = parse(['ASSIGN A 10', 'ADD B A 10', 'PRINT A', 'PRINT B']);
  t.deepEqual(blocks, [{
    end: 'commit',
    firstLine: 1,
    lastLine: 4,
    commands: [
      { line: 1, op: 'ASSIGN', target: 'A', source: 10 },
      { line: 2, op: 'ADD', target: 'B', left: 'A', right: 10 },
      { line: 3, op: 'PRINT', source: 'A' },
      { line: 4, op: 'PRINT', source: 'B' },
    ],
  }]);
});

test('command words are case-insensitive, entry names keep their case', (t) => {
  const [block] = parse(['assign Abc 1', 'Add abc ABC aBc', 'pRiNt Abc', 'delete abc', 'nocmd', 'Quit']);
  t.deepEqual(block!.commands, [
    { line: 1, op: 'ASSIGN', target: 'Abc', source: 1 },
    { line: 2, op: 'ADD', target: 'abc', left: 'ABC', right: 'aBc' },
    { line: 3, op: 'PRINT', source: 'Abc' },
    { line: 4, op: 'DELETE', target: 'abc' },
    { line: 5, op: 'NOCMD' },
    { line: 6, op: 'QUIT' },
  ]);
});

test('literals take a sign, and the safe-integer bounds themselves are accepted', (t) => {
  const [block] = parse(['ASSIGN a -5', 'ADD b +3 -0', `PRINT ${Number.MAX_SAFE_INTEGER}`, `PRINT -${Number.MAX_SAFE_INTEGER}`, 'PRINT 7']);
  t.deepEqual(block!.commands, [
    { line: 1, op: 'ASSIGN', target: 'a', source: -5 },
    { line: 2, op: 'ADD', target: 'b', left: 3, right: 0 },
    { line: 3, op: 'PRINT', source: Number.MAX_SAFE_INTEGER },
    { line: 4, op: 'PRINT', source: -Number.MAX_SAFE_INTEGER },
    { line: 5, op: 'PRINT', source: 7 },
  ]);
  t.false(Object.is((block!.commands[1] as { right: number }).right, -0), '-0 is read as 0');
});

test('blank and comment lines are skipped but still count for line numbers', (t) => {
  const [block] = parse(['# a comment', '', '   ', '  # an indented comment', 'ASSIGN  x\t 1', '', 'PRINT x']);
  t.deepEqual(block!.commands.map((command) => command.line), [5, 7]);
  t.is(block!.lastLine, 7);
});

test('Windows line endings and a byte-order mark are read like plain lines', (t) => {
  const blocks = parseCommandFile('\uFEFFASSIGN a 1\r\nPRINT a\r\n', FILE);
  t.deepEqual(blocks[0]!.commands, [
    { line: 1, op: 'ASSIGN', target: 'a', source: 1 },
    { line: 2, op: 'PRINT', source: 'a' },
  ]);
});

test('an empty file, or one of comments only, is one empty transaction', (t) => {
  t.deepEqual(parseCommandFile('', FILE), [{ commands: [], end: 'commit', firstLine: 1, lastLine: 1 }]);
  t.deepEqual(parse(['# nothing', '']), [{ commands: [], end: 'commit', firstLine: 1, lastLine: 2 }]);
});

test('BEGIN blocks make one transaction each, ending in COMMIT or ROLLBACK, with their own line range', (t) => {
  const blocks = parse([
    '# three transactions',
    'BEGIN',
    'ASSIGN a 1',
    'COMMIT',
    '',
    'begin',
    'PRINT a',
    'rollback',
    'Begin',
    'Commit',
  ]);
  t.deepEqual(blocks, [
    { commands: [{ line: 3, op: 'ASSIGN', target: 'a', source: 1 }], end: 'commit', firstLine: 2, lastLine: 4 },
    { commands: [{ line: 7, op: 'PRINT', source: 'a' }], end: 'rollback', firstLine: 6, lastLine: 8 },
    { commands: [], end: 'commit', firstLine: 9, lastLine: 10 },
  ]);
});

test('MAGIC takes three integer literals, IGNORE none', (t) => {
  const [block] = parse(['MAGIC 0 0 0', 'magic -1 +2 3', 'IGNORE']);
  t.deepEqual(block!.commands, [
    { line: 1, op: 'MAGIC', args: [0, 0, 0] },
    { line: 2, op: 'MAGIC', args: [-1, 2, 3] },
    { line: 3, op: 'IGNORE' },
  ]);
});

test('SLEEP takes whole or fractional non-negative seconds up to an hour', (t) => {
  const [block] = parse(['SLEEP 0', 'SLEEP 1', 'SLEEP 0.25', 'SLEEP .5', 'SLEEP 3600']);
  t.deepEqual(block!.commands.map((command) => (command as { seconds: number }).seconds), [0, 1, 0.25, 0.5, 3600]);
});

test('an entry name may be 64 characters long and may spell a command word', (t) => {
  const longest = `_${'x'.repeat(63)}`;
  const [block] = parse([`ASSIGN ${longest} 1`, 'ASSIGN PRINT begin2']);
  t.deepEqual(block!.commands, [
    { line: 1, op: 'ASSIGN', target: longest, source: 1 },
    { line: 2, op: 'ASSIGN', target: 'PRINT', source: 'begin2' },
  ]);
});

test('every command the parser produces is valid on the wire', (t) => {
  const blocks = parse(['ASSIGN a -1', 'ADD b a +2', 'PRINT 3', 'DELETE a', 'SLEEP 0.1', 'IGNORE', 'MAGIC 0 0 0', 'NOCMD', 'QUIT']);
  for (const command of blocks[0]!.commands) t.true(CommandSchema.safeParse(command).success, JSON.stringify(command));
});

test('every example in test-scenarios/ parses', (t) => {
  const files = fs.readdirSync(SCENARIOS_DIR).filter((name) => name.endsWith('.op'));
  t.true(files.includes('basic.op'));
  for (const name of files) {
    t.notThrows(() => parseCommandFile(fs.readFileSync(path.join(SCENARIOS_DIR, name), 'utf8'), name), name);
  }
});

// ---- bad files: one test per kind of mistake ----

test('an unknown command is named with its line', (t) => {
  const [message] = refuse(t, ['ASSIGN a 1', '', 'FROB a']);
  t.regex(message!, /^case\.op:3: unknown command 'FROB'/);
});

test('a wrong number of arguments names the command and what it takes', (t) => {
  const messages = refuse(t, ['ADD a b', 'PRINT', 'IGNORE now', 'ASSIGN a b c']);
  t.regex(messages[0]!, /^case\.op:1: ADD takes 3 arguments \(target, left, right\), but 2 were given$/);
  t.regex(messages[1]!, /^case\.op:2: PRINT takes 1 argument \(source\), but 0 were given$/);
  t.regex(messages[2]!, /^case\.op:3: IGNORE takes no arguments, but 1 was given$/);
  t.regex(messages[3]!, /^case\.op:4: ASSIGN takes 2 arguments/);
});

test('a literal where an entry is needed is refused for ASSIGN, ADD and DELETE', (t) => {
  const messages = refuse(t, ['ASSIGN 5 A', 'ADD 3 A B', 'DELETE 7']);
  t.deepEqual(messages, [
    "case.op:1: ASSIGN argument 1 (target) must be an entry name, not the literal '5'",
    "case.op:2: ADD argument 1 (target) must be an entry name, not the literal '3'",
    "case.op:3: DELETE argument 1 (target) must be an entry name, not the literal '7'",
  ]);
});

test('a malformed operand is neither an entry name nor an integer', (t) => {
  const messages = refuse(t, ['PRINT 3x', 'ASSIGN a a-b', 'ADD c 1 1e5', 'PRINT --1']);
  t.regex(messages[0]!, /^case\.op:1: PRINT argument 1 \(source\) '3x' is neither an entry name .* nor an integer$/);
  t.regex(messages[1]!, /^case\.op:2: ASSIGN argument 2 \(source\) 'a-b' is neither/);
  t.regex(messages[2]!, /^case\.op:3: ADD argument 3 \(right\) '1e5' is neither/);
  t.regex(messages[3]!, /^case\.op:4: PRINT argument 1 \(source\) '--1' is neither/);
});

test('an entry name longer than 64 characters is refused, and the message quotes only its start', (t) => {
  const [message] = refuse(t, [`ASSIGN ${'a'.repeat(65)} 1`]);
  t.regex(message!, /^case\.op:1: ASSIGN argument 1 \(target\) 'a{40}…' is an entry name of 65 characters; at most 64 are allowed$/);
});

test('a literal beyond the safe integer range is an error, never a rounded value', (t) => {
  const messages = refuse(t, ['ASSIGN a 9007199254740992', 'PRINT -9007199254740993', `ADD a a 1${'0'.repeat(30)}`]);
  t.regex(messages[0]!, /^case\.op:1: ASSIGN argument 2 \(source\) '9007199254740992' is outside the safe integer range/);
  t.regex(messages[1]!, /^case\.op:2: PRINT argument 1 \(source\) '-9007199254740993' is outside/);
  t.regex(messages[2]!, /^case\.op:3: ADD argument 3 \(right\) .* is outside/);
});

test('SLEEP refuses a negative, non-numeric or over-long duration', (t) => {
  const messages = refuse(t, ['SLEEP -1', 'SLEEP x', 'SLEEP 3600.5', 'SLEEP 1e3']);
  t.regex(messages[0]!, /^case\.op:1: SLEEP argument 1 \(seconds\) must be a non-negative number of seconds, not '-1'$/);
  t.regex(messages[1]!, /^case\.op:2: SLEEP .* not 'x'$/);
  t.regex(messages[2]!, /^case\.op:3: SLEEP argument 1 \(seconds\) '3600\.5' is too long: at most 3600 seconds$/);
  t.regex(messages[3]!, /^case\.op:4: SLEEP .* not '1e3'$/);
});

test('MAGIC refuses entry names and out-of-range numbers', (t) => {
  const messages = refuse(t, ['MAGIC 0 A 0', 'MAGIC 0 0 99999999999999999999']);
  t.regex(messages[0]!, /^case\.op:1: MAGIC argument 2 'A' must be an integer literal$/);
  t.regex(messages[1]!, /^case\.op:2: MAGIC argument 3 .* is outside the safe integer range/);
});

test('a nested BEGIN is refused, naming the block still open', (t) => {
  const messages = refuse(t, ['BEGIN', 'ASSIGN a 1', 'BEGIN', 'COMMIT']);
  t.deepEqual(messages, ['case.op:3: BEGIN inside the block opened at line 1: blocks do not nest (end that block with COMMIT or ROLLBACK first)']);
});

test('COMMIT or ROLLBACK without a BEGIN is refused', (t) => {
  const messages = refuse(t, ['ASSIGN a 1', 'COMMIT', 'ROLLBACK']);
  t.true(messages.includes('case.op:2: COMMIT without a BEGIN before it'));
  t.true(messages.includes('case.op:3: ROLLBACK without a BEGIN before it'));
});

test('a BEGIN never closed is refused at the line of the BEGIN', (t) => {
  const messages = refuse(t, ['BEGIN', 'COMMIT', '', 'BEGIN', 'PRINT 1']);
  t.deepEqual(messages, ['case.op:4: BEGIN is never closed: end the block with COMMIT or ROLLBACK']);
});

test('a command outside a block is refused in a file that uses BEGIN', (t) => {
  const messages = refuse(t, ['PRINT 1', 'BEGIN', 'PRINT 2', 'COMMIT', 'PRINT 3']);
  t.is(messages.length, 2);
  t.regex(messages[0]!, /^case\.op:1: PRINT is outside any BEGIN \.\.\. COMMIT block/);
  t.regex(messages[1]!, /^case\.op:5: PRINT is outside/);
});

test('arguments on a bracket are refused, but the bracket still counts so later lines are not blamed', (t) => {
  const messages = refuse(t, ['BEGIN now', 'PRINT 1', 'COMMIT']);
  t.deepEqual(messages, ['case.op:1: BEGIN takes no arguments, but 1 was given']);
});

test('a transaction of more than 10000 commands is refused at its first line', (t) => {
  const messages = refuse(t, ['BEGIN', 'COMMIT', 'BEGIN', ...Array.from({ length: 10_001 }, () => 'NOCMD'), 'COMMIT']);
  t.deepEqual(messages, ['case.op:3: the transaction has 10001 commands; at most 10000 are allowed (split it with BEGIN ... COMMIT blocks)']);
});

test('every mistake in a file is reported at once, in line order, up to the limit', (t) => {
  const messages = refuse(t, ['FROB', 'PRINT', 'ASSIGN 1 1', 'PRINT ok']);
  t.deepEqual(messages.map((message) => message.split(':').slice(0, 2).join(':')), ['case.op:1', 'case.op:2', 'case.op:3']);

  const many = refuse(t, Array.from({ length: PARSE_ERRORS_MAX + 5 }, () => 'FROB'));
  t.is(many.length, PARSE_ERRORS_MAX + 1);
  t.is(many.at(-1), `case.op: more than ${PARSE_ERRORS_MAX} errors; only the first ${PARSE_ERRORS_MAX} are shown`);
});

test('the file name in messages is the one given, path and all', (t) => {
  const error = t.throws(() => parseCommandFile('\n\nFROB\n', 'some/dir/x.op'), { instanceOf: OccdbError });
  t.regex(error!.message, /^some\/dir\/x\.op:3: /);
});
