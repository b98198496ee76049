// The Lamport clock rules of docs/design.md, "Timestamps", one test per rule.
import test from 'ava';
import { LamportClock } from '../timestamp/clock.js';
import { compareTimestamps, isBefore, TIMESTAMP_ZERO } from '../timestamp/timestamp.js';

test('tick increments the counter and stamps with the middleware id', (t) => {
  const clock = new LamportClock(3);
  t.deepEqual(clock.tick(), [1, 3]);
  t.deepEqual(clock.tick(), [2, 3]);
});

test('observing a larger timestamp moves the clock to it; the next tick is larger still', (t) => {
  const clock = new LamportClock(1);
  clock.observe([41, 2]);
  t.is(clock.value, 41);
  t.deepEqual(clock.tick(), [42, 1]);
});

test('observing a smaller timestamp never moves the clock backwards', (t) => {
  const clock = new LamportClock(1, 10);
  clock.observe([3, 2]);
  clock.observe(5);
  t.is(clock.value, 10);
});

test('reading a version moves the clock past it, so the reader is stamped after the writer', (t) => {
  const clock = new LamportClock(1);
  const version = [17, 2] as const;
  clock.observe(version);
  t.true(isBefore(version, clock.tick()));
});

test('timestamps are totally ordered by counter, then middleware id', (t) => {
  t.true(isBefore([1, 9], [2, 1]));
  t.true(isBefore([2, 1], [2, 2]));
  t.is(compareTimestamps([2, 2], [2, 2]), 0);
  t.true(isBefore(TIMESTAMP_ZERO, [1, 1]));
});

test('a counter that is not a safe integer is refused: ordering could not be trusted', (t) => {
  const clock = new LamportClock(1);
  t.throws(() => clock.observe(Number.MAX_SAFE_INTEGER + 2));
  t.throws(() => clock.observe(-1));
});
