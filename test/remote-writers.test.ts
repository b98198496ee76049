// What a middleware remembers of other middlewares' committing writes: the newest writer per
// key, forgotten once a read waited for it, after its time to live, and beyond its capacity.
import test from 'ava';
import { RemoteWriters } from '../occ/remote-writers.js';

test('a key written by a transaction voted for is awaited at that transaction\'s version; others are not', (t) => {
  const writers = new RemoteWriters();
  writers.seen(['a', 'b'], [10, 2], 0);
  t.deepEqual(writers.awaited(['a', 'c', 'b'], 1), [['a', [10, 2]], ['b', [10, 2]]]);
  t.deepEqual(writers.awaited(['c'], 1), []);
});

test('the newest writer of a key wins, whatever order they are seen in', (t) => {
  const writers = new RemoteWriters();
  writers.seen(['a'], [10, 2], 0);
  writers.seen(['a'], [12, 3], 0);
  writers.seen(['a'], [11, 1], 0);
  t.deepEqual(writers.awaited(['a'], 0), [['a', [12, 3]]]);
});

test('a settled read forgets its writer, but not a newer one seen meanwhile', (t) => {
  const writers = new RemoteWriters();
  writers.seen(['a', 'b'], [10, 2], 0);
  writers.settled('a', [10, 2]);
  t.deepEqual(writers.awaited(['a', 'b'], 0), [['b', [10, 2]]]);
  writers.seen(['b'], [14, 3], 0);
  writers.settled('b', [10, 2]);
  t.deepEqual(writers.awaited(['b'], 0), [['b', [14, 3]]]);
});

test('a writer is forgotten after its time to live, and the oldest go first beyond the capacity', (t) => {
  const writers = new RemoteWriters(2, 100);
  writers.seen(['a'], [1, 1], 0);
  t.deepEqual(writers.awaited(['a'], 100), [['a', [1, 1]]]);
  t.deepEqual(writers.awaited(['a'], 101), []);
  t.is(writers.size, 0);
  writers.seen(['x'], [1, 1], 200);
  writers.seen(['y'], [2, 1], 200);
  writers.seen(['z'], [3, 1], 200);
  t.is(writers.size, 2);
  t.deepEqual(writers.awaited(['x', 'y', 'z'], 200), [['y', [2, 1]], ['z', [3, 1]]]);
});
