// The classic output: PRINT values one a line, errors as `ERROR in line N: message`, a
// failed transaction's own error printed once, and nothing else.
import test from 'ava';
import { formatClassic } from '../client/format.js';
import type { TxnResult } from '../protocol/schemas.js';

function committed(results: TxnResult['results']): TxnResult {
  return { outcome: 'committed', ts: [7, 1], retries: 0, results, middlewareId: 1 };
}

test('the classic example prints its two values, one a line', (t) => {
  const output = formatClassic([committed([
    { line: 3, kind: 'print', value: '10' },
    { line: 4, kind: 'print', value: '20' },
  ])]);
  t.is(output, '10\n20\n');
});

test('an error line result prints as ERROR in line N, in order with the prints', (t) => {
  const output = formatClassic([{
    outcome: 'rolled_back',
    retries: 0,
    results: [
      { line: 2, kind: 'print', value: '5' },
      { line: 3, kind: 'error', code: 'ENTRY_NONEXISTENT', message: 'nonexistent' },
    ],
    error: { code: 'ENTRY_NONEXISTENT', message: 'nonexistent', line: 3 },
    middlewareId: 2,
  }]);
  t.is(output, '5\nERROR in line 3: nonexistent\n');
});

test('a failed transaction whose error has no line result prints that error, with its line when known', (t) => {
  const withLine: TxnResult = {
    outcome: 'failed',
    retries: 3,
    results: [],
    error: { code: 'NODE_UNAVAILABLE', message: 'no database answered', line: 4 },
    middlewareId: 1,
  };
  const withoutLine: TxnResult = {
    outcome: 'failed',
    retries: 10,
    results: [{ line: 1, kind: 'print', value: '1' }],
    error: { code: 'TXN_RETRIES_EXHAUSTED', message: 'gave up after 10 retries' },
    middlewareId: 1,
  };
  t.is(formatClassic([withLine]), 'ERROR in line 4: no database answered\n');
  t.is(formatClassic([withoutLine]), '1\nERROR: gave up after 10 retries\n');
});

test('a failed transaction whose error is already a line result prints it only once', (t) => {
  const output = formatClassic([{
    outcome: 'failed',
    retries: 0,
    results: [{ line: 2, kind: 'error', code: 'INTEGER_OVERFLOW', message: 'overflow' }],
    error: { code: 'INTEGER_OVERFLOW', message: 'overflow', line: 2 },
    middlewareId: 1,
  }]);
  t.is(output, 'ERROR in line 2: overflow\n');
});

test('a rolled-back transaction without line results prints nothing', (t) => {
  const output = formatClassic([{ outcome: 'rolled_back', retries: 0, results: [], middlewareId: 1 }]);
  t.is(output, '');
});

test('several transactions print in order, and no transactions print nothing', (t) => {
  const output = formatClassic([
    committed([{ line: 3, kind: 'print', value: '100' }]),
    { outcome: 'failed', retries: 0, results: [], error: { code: 'MIDDLEWARE_LEAVING', message: 'leaving' }, middlewareId: 1 },
    committed([{ line: 12, kind: 'print', value: '1 2 3' }]),
  ]);
  t.is(output, '100\nERROR: leaving\n1 2 3\n');
  t.is(formatClassic([]), '');
});
