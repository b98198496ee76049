// Reading `ava --verbose` output for report 2: each test's verdict and t.log lines (with
// their continuation lines), a failure's reason told apart from its title and its details
// attached, and failures outside any test (timeouts, uncaught exceptions) kept as problems.
import test from 'ava';
import { allPassed, parseAvaOutput } from '../report/ava-output.js';

const PASSING = [
  '',
  '  ✔ vote: ties on the counter are broken by middleware id',
  '  ✔ simulation (3 middlewares, 2 replicas): every history is serializable (7.1s)',
  '    ℹ seed 1: 1500 committed, 3834 aborted',
  '    ℹ seed 2: Not shown serializable: 2 anomalies',
  '      - lost update: t1, t2 both read k0',
  '  ✔ no starvation (824ms)',
  '  ─',
  '',
  '  3 tests passed',
  '',
].join('\n');

const FAILING = [
  '',
  '  ✔ passes with a log',
  '    ℹ hello 1',
  '  ✘ [fail]: fails on purpose one is not two',
  '    ℹ before failing',
  '  ✘ [fail]: throws Error thrown in test',
  '  ✔ last one',
  '  ─',
  '',
  '  fails on purpose',
  '  a.test.js:3',
  '',
  '   3: test(\'fails on purpose\', (t) => { t.is(1, 2) });',
  '',
  '  one is not two',
  '',
  '  Difference (- actual, + expected):',
  '',
  '  - 1',
  '  + 2',
  '',
  '',
  '',
  '  throws',
  '',
  '  Error thrown in test:',
  '',
  '  Error: boom',
  '',
  '  ─',
  '',
  '  2 tests failed',
  '',
].join('\n');

const TIMED_OUT = [
  '',
  '  ✔ quick one',
  '',
  '  ✘ Timed out while running tests',
  '',
  '  1 tests were pending in c.test.js',
  '',
  '  ◌ hangs',
  '',
  '  ─',
  '',
  '  1 test remained pending after a timeout',
].join('\n');

const CRASHED = [
  '',
  '  Uncaught exception in b.test.js',
  '',
  '  Error [ERR_MODULE_NOT_FOUND]: Cannot find package \'ava\'',
  '      at packageResolve (node:internal/modules/esm/resolve:873:9)',
  '',
  '  ✘ b.test.js exited with a non-zero exit code: 1',
  '  ─',
  '',
  '  1 uncaught exception',
].join('\n');

test('passed tests lose their duration; log lines and their continuation lines stay with their test', (t) => {
  const parsed = parseAvaOutput(PASSING);
  t.deepEqual(parsed.tests.map((entry) => [entry.title, entry.status]), [
    ['vote: ties on the counter are broken by middleware id', 'passed'],
    ['simulation (3 middlewares, 2 replicas): every history is serializable', 'passed'],
    ['no starvation', 'passed'],
  ]);
  t.deepEqual(parsed.tests[1]!.logs, ['seed 1: 1500 committed, 3834 aborted', 'seed 2: Not shown serializable: 2 anomalies\n- lost update: t1, t2 both read k0']);
  t.deepEqual(parsed.tests[2]!.logs, []);
  t.deepEqual(parsed.summary, ['3 tests passed']);
  t.true(allPassed(parsed, 0));
  t.false(allPassed(parsed, 1), 'a non-zero exit code is a failure even when every listed test passed');
});

test('a failed test: its title is told apart from ava\'s reason, and its block of the details is attached', (t) => {
  const parsed = parseAvaOutput(FAILING);
  const failed = parsed.tests.filter((entry) => entry.status === 'failed');
  t.deepEqual(failed.map((entry) => [entry.title, entry.message]), [['fails on purpose', 'one is not two'], ['throws', 'Error thrown in test']]);
  t.deepEqual(failed[0]!.logs, ['before failing']);
  t.regex(failed[0]!.details ?? '', /Difference \(- actual, \+ expected\)/);
  t.notRegex(failed[0]!.details ?? '', /boom/, 'the next failure\'s details are not mixed in');
  t.regex(failed[1]!.details ?? '', /Error: boom/);
  t.is(parsed.tests.at(-1)!.status, 'passed');
  t.false(allPassed(parsed, 1));
});

test('a timeout leaves the pending test and a problem line', (t) => {
  const parsed = parseAvaOutput(TIMED_OUT);
  t.deepEqual(parsed.tests.map((entry) => [entry.title, entry.status]), [['quick one', 'passed'], ['hangs', 'pending']]);
  t.deepEqual(parsed.problems, ['Timed out while running tests']);
  t.false(allPassed(parsed, 1));
});

test('a file that crashes before any test has problems and no tests; its stack is not taken for log lines', (t) => {
  const parsed = parseAvaOutput(CRASHED);
  t.deepEqual(parsed.tests, []);
  t.deepEqual(parsed.problems, ['Uncaught exception in b.test.js', 'b.test.js exited with a non-zero exit code: 1']);
  t.false(allPassed(parsed, 1));
});
