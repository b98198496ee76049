// The message schemas are compiled by zod only after their first uses (protocol/schemas.ts), so
// that a one-shot command does not pay for compiling them: every one of them compiles under
// zod's strict mode, and a schema gives the same answers and the same errors before its
// compilation as after.
import test from 'ava';
import { PARSES_BEFORE_COMPILE, ReplySchema, TxnResultSchema, compileSchemasNow } from '../protocol/schemas.js';

test('every lazily compiled schema compiles in strict mode', (t) => {
  t.notThrows(() => compileSchemasNow());
});

test('a schema answers alike before and after it is compiled, errors included', (t) => {
  const good = { outcome: 'committed', ts: [3, 1], retries: 0, results: [{ line: 2, kind: 'print', value: '7' }], middlewareId: 1 };
  const bad = { ...good, results: [{ line: 0, kind: 'print', value: 7 }] };
  const answers = (): unknown[] => [TxnResultSchema.safeParse(good), TxnResultSchema.safeParse(bad).error?.issues, ReplySchema.safeParse({ id: 1, ok: true, result: good })];
  const before = answers();
  for (let parse = 0; parse <= PARSES_BEFORE_COMPILE; parse += 1) TxnResultSchema.safeParse(good);
  compileSchemasNow();
  const after = answers();
  t.deepEqual(after, before);
  t.true((before[0] as { success: boolean }).success);
  t.true(Array.isArray(before[1]) && (before[1] as unknown[]).length > 0);
});
