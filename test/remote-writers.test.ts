// What a middleware remembers of other middlewares' committing writes: the newest writer per
// key, forgotten once a read waited for it, after its time to live, and beyond its capacity.
import test from 'ava';
import { RemoteWriters } from '../occ/remote-writers.js';

test('a key written by a transaction voted for is awaited at that transaction\'s version; others are not', (t) => {
  const writers = new RemoteWriters();
  writers.seen(['a', 'b'], [10, 2], 0);
  t.deepEqual(writers.awaitedVersion('a', 1), [10, 2]);
  t.deepEqual(writers.awaitedVersion('b', 1), [10, 2]);
  t.is(writers.awaitedVersion('c', 1), undefined);
});

test('the newest writer of a key wins, whatever order they are seen in', (t) => {
  const writers = new RemoteWriters();
  writers.seen(['a'], [10, 2], 0);
  writers.seen(['a'], [12, 3], 0);
  writers.seen(['a'], [11, 1], 0);
  t.deepEqual(writers.awaitedVersion('a', 0), [12, 3]);
});

test('a settled read forgets its writer, but not a newer one seen meanwhile', (t) => {
  const writers = new RemoteWriters();
  writers.seen(['a', 'b'], [10, 2], 0);
  writers.settled('a', [10, 2]);
  t.is(writers.awaitedVersion('a', 0), undefined);
  t.deepEqual(writers.awaitedVersion('b', 0), [10, 2]);
  writers.seen(['b'], [14, 3], 0);
  writers.settled('b', [10, 2]);
  t.deepEqual(writers.awaitedVersion('b', 0), [14, 3]);
});

test('a writer is forgotten after its time to live, and the oldest go first beyond the capacity', (t) => {
  const writers = new RemoteWriters(2, 100);
  writers.seen(['a'], [1, 1], 0);
  t.deepEqual(writers.awaitedVersion('a', 100), [1, 1]);
  t.is(writers.awaitedVersion('a', 101), undefined);
  t.is(writers.size, 0);
  writers.seen(['x'], [1, 1], 200);
  writers.seen(['y'], [2, 1], 200);
  writers.seen(['z'], [3, 1], 200);
  t.is(writers.size, 2);
  t.deepEqual(['x', 'y', 'z'].map((key) => writers.awaitedVersion(key, 200)), [undefined, [2, 1], [3, 1]]);
});
